"""A hub as its own process (``python -m bench.hub_main``, i.e. ``dhome run``) on a free
loopback port with its own data dir: start-up timing, ``/metrics`` scraping, RSS, the SQLite
file read-only."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.broker import BenchError, free_port
from hub.api.auth import TokenStore, parse_scopes
from hub.clock import Clock
from hub.storage import Storage

REPO = Path(__file__).resolve().parents[1]
HOME = "bench-home"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; a :class:`BenchError` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident set size of a process (``VmHWM``: its peak so far), from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no {field} for pid {pid}")


def create_token(data_dir: Path, scope: str = "read") -> str:
    """What ``dhome token create`` does, before the hub starts (the same SQLite store)."""

    async def create() -> str:
        data_dir.mkdir(parents=True, exist_ok=True)
        storage = Storage(data_dir / "dhome.db")
        await storage.open()
        try:
            _, secret = await TokenStore(storage, Clock().now).create("bench", parse_scopes(scope))
            return secret
        finally:
            await storage.close()

    return asyncio.run(create())


class HubProcess:
    def __init__(
        self,
        workdir: Path,
        *,
        adapters: list[dict[str, Any]] | None = None,
        alerts: dict[str, Any] | None = None,
        profile: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.dir = workdir
        #: extra environment of the hub process (e.g. DHOME_PURE_PYTHON=1)
        self.env = env or {}
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.health_port = free_port()
        config = {
            "home": {"id": HOME, "name": "Benchmark home"},
            "api": {"port": self.api_port, "health_port": self.health_port},
            "mdns": {"enabled": False},
            "log_level": "info",
            "adapters": adapters or [],
            "alerts": alerts or {},
        }
        self.config = workdir / "hub.yaml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.log = workdir / "hub.log"
        self.token = create_token(self.data)
        #: run the hub under cProfile, writing its stats here when it stops
        self.profile = profile
        self._proc: subprocess.Popen[bytes] | None = None
        #: seconds from spawning the process to the API answering /health (registry loaded)
        self.start_seconds: float | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    @property
    def health(self) -> str:
        """``/health`` on the health port (answered from a thread, ``hub.api.healthserver``)."""
        return f"http://127.0.0.1:{self.health_port}/health"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchError("hub not running")
        return self._proc.pid

    def _healthy(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            raise BenchError(f"hub exited at start:\n{self.tail()}")
        try:
            with urllib.request.urlopen(self.api + "/health", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout: float = 60) -> None:
        prof = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        argv = [
            sys.executable,
            *prof,
            "-m",
            "bench.hub_main",
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data),
        ]
        t0 = time.monotonic()
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, env={**os.environ, **self.env})  # fmt: skip
        wait_until(self._healthy, timeout, "the hub API to answer /health", interval=0.01)
        self.start_seconds = time.monotonic() - t0

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> HubProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu_seconds(self) -> float:
        """CPU time the hub process used so far (user + system, all threads), from /proc: on
        a shared machine it moves far less with the other load than a rate does."""
        fields = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def peak_rss(self) -> int:
        """The most resident memory the hub process has had so far (``VmHWM``)."""
        return rss_bytes(self.pid, "VmHWM")

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as ``{"name{label=value,…}": value}`` (labels sorted)."""
        req = urllib.request.Request(self.api + "/metrics", headers={"Authorization": f"Bearer {self.token}"})
        try:
            # a saturated hub answers late: that is a figure, not a failure
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read().decode()
        except (OSError, urllib.error.URLError) as exc:
            raise BenchError(f"GET /metrics failed: {exc}\n{self.tail()}") from None
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = float(sample.value)
        return out

    def metric(self, key: str) -> float:
        return self.metrics().get(key, 0.0)

    def db_count(self, sql: str) -> int:
        path = self.data / "dhome.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute(sql).fetchone()
        return int(row[0]) if row else 0
