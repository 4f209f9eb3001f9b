"""Real processes for the end-to-end tests: a hub (``tests.e2e.hub_process``, i.e. ``dhome run``)
and the example community platform, each on a free loopback port with its own temp dir."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from adapters.virtual.scenario import load_scenario
from dhi.catalog import default_catalog
from hub.api.auth import TokenStore, parse_scopes
from hub.clock import Clock
from hub.storage import Storage

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOME = "flat-12"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy (a bounded wait, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


class Proc:
    """A child process with its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        if not self._out.closed:
            self._out.close()


class Platform:
    def __init__(self, tmp: Path, port: int, hub_port: int | None = None, token: str | None = None) -> None:
        self.port = port
        self.dir = tmp / "platform"
        self.dir.mkdir(exist_ok=True)
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "database": str(self.dir / "platform.db"),
            "secrets": [SECRET],
        }
        if hub_port is not None and token is not None:
            settings["hubs"] = {HOME: {"url": f"http://127.0.0.1:{hub_port}", "token": token}}
        self.config = self.dir / "platform.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [PYTHON, "-m", "examples.community_platform", "--config", str(self.config)]
        self.proc = Proc("platform", argv, self.dir / "platform.log")
        wait_until(lambda: reachable(self.url + "/api/stats"), 30, "the platform to listen")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def alerts(self) -> list[dict[str, Any]]:
        status, body = http("GET", self.url + "/api/alerts")
        assert status == 200
        return list(body["items"])

    def stats(self) -> dict[str, int]:
        return dict(http("GET", self.url + "/api/stats")[1])

    def message_ids(self) -> list[str]:
        with sqlite3.connect(f"file:{self.dir / 'platform.db'}?mode=ro", uri=True) as db:
            return [r[0] for r in db.execute("SELECT message_id FROM messages")]


class HubProcess:
    def __init__(self, tmp: Path, *, scenario: str | None, speed: float, alerts: dict[str, Any]) -> None:
        self.api_port = free_port()
        self.dir = tmp / "hub"
        self.data = self.dir / "data"
        self.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        adapters = []
        clock: dict[str, Any] = {"speed": speed}
        if scenario is not None:
            # the hub clock starts at the scenario's own start, so a morning scenario is a
            # morning in the hub whatever the time of day the tests run (night rules!)
            adapters.append(
                {"type": "virtual", "config": {"scenario": scenario, "loop": False, "timing": "scenario"}}
            )
            clock["start"] = load_scenario(scenario, default_catalog()).start.isoformat()
        config = {
            "home": {"id": HOME, "name": "Mrs Chen's flat", "division_code": "110105"},
            "api": {"port": self.api_port},
            "mdns": {"enabled": False},
            "clock": clock,
            "log_level": "info",
            "adapters": adapters,
            "alerts": alerts,
        }
        self.config = self.dir / "hub.yaml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.proc: Proc | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def token(self, scope: str, name: str) -> str:
        """What ``dhome token create --scope S --name N --data-dir D`` does (the same store)."""

        async def create() -> str:
            storage = Storage(self.data / "dhome.db")
            await storage.open()
            try:
                _, secret = await TokenStore(storage, Clock().now).create(name, parse_scopes(scope))
                return secret
            finally:
                await storage.close()

        return asyncio.run(create())

    def start(self) -> None:
        argv = [
            PYTHON,
            "-m",
            "tests.e2e.hub_process",
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data),
        ]
        self.proc = Proc("hub", argv, self.dir / "hub.log", env={"DHOME_LOG_LEVEL": "info"})
        wait_until(lambda: reachable(self.api + "/health") or not self.proc or not self.proc.alive(), 60,
                   "the hub API to listen")  # fmt: skip
        assert self.proc.alive(), f"hub exited at start:\n{self.proc.tail()}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def scenario_done(self) -> bool:
        return self.proc is not None and "round 1 finished" in self.proc.log.read_text(errors="replace")

    def db(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        path = self.data / "dhome.db"
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return list(db.execute(sql, params))


def webhook_subscription(
    endpoint: str, kinds: list[str], message_types: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": "community",
        "receiver": {"name": "阳光社区服务中心", "kind": "community"},
        "transport": "webhook",
        "endpoint": endpoint,
        "secret": SECRET,
        "alert_kinds": kinds,
        "message_types": message_types or [],
        "consent": {"granted_by": "resident:chen", "granted_at": "2020-01-01T00:00:00+08:00"},
    }
