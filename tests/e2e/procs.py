"""Real processes for the end-to-end tests: a hub (``tests.e2e.hub_process``, i.e. ``dhome run``)
and the community platform (``dhome-community``), each on a free loopback port with its own temp dir."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
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
from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOME = "flat-12"


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


STAFF_PASSWORD = "e2e-password"
REPORT_TOKEN = "district-report-token-e2e"


class Platform:
    """``dhome-community serve`` on a free port: SQLite by default, or any database URL (the
    tests give a fresh PostgreSQL database). Staff ``boss`` (supervisor), ``wang`` and ``li``
    (duty) exist, all with ``STAFF_PASSWORD``; with ``hub_port`` given, home ``HOME`` is
    registered with ``SECRET`` (a hub configured by hand, delivering to ``/webhook``)."""

    def __init__(
        self, tmp: Path, port: int, hub_port: int | None = None, token: str | None = None,
        *, database: str | None = None, escalate_minutes: float = 5.0,
    ) -> None:  # fmt: skip
        self.port = port
        self.dir = tmp / "platform"
        self.dir.mkdir(exist_ok=True)
        self.database = database or f"sqlite:///{self.dir / 'platform.db'}"
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "database": self.database,
            "public_url": self.url,
            "log_format": "text",
            "escalate_after_minutes": escalate_minutes,
            "report_tokens": [REPORT_TOKEN],
            "cap": {"sender": "centre@example.org", "area_code": "110105", "area_name": "朝阳区某社区"},
        }
        self.config = self.dir / "platform.yaml"
        self.config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        self.proc: Proc | None = None
        for user, name, role in (
            ("boss", "张主管", "supervisor"),
            ("wang", "王芳", "duty"),
            ("li", "李强", "duty"),
        ):
            self.cli(
                "staff", "add", user, "--name", name, "--role", role, "--password-stdin", stdin=STAFF_PASSWORD
            )
        if hub_port is not None:
            self.cli("home", "add", HOME, "--name", "陈阿姨", stdin=SECRET)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str = "") -> str:
        out = subprocess.run(
            [PYTHON, "-m", "community", "--config", str(self.config), *args],
            cwd=REPO, input=stdin + "\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def code(self, label: str = "") -> str:
        return self.cli("code", "create", "--label", label).splitlines()[-1]

    def start(self) -> None:
        argv = [PYTHON, "-m", "community", "--config", str(self.config), "serve"]
        self.proc = Proc("platform", argv, self.dir / "platform.log")
        wait_until(lambda: reachable(self.url + "/health"), 30, "the platform to listen")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def store(self) -> Any:
        from community.db import make_engine
        from community.store import Store

        return Store(make_engine(self.database))

    def _read(self, fn: Callable[[Any], Any]) -> Any:
        store = self.store()
        try:
            return fn(store)
        finally:
            store.engine.dispose()

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert the platform holds, as staff see it (``state``: the home's state)."""
        return list(self._read(lambda s: s.all_alerts()))

    def counts(self) -> dict[str, int]:
        return dict(self._read(lambda s: s.counts()))

    def households(self) -> list[dict[str, Any]]:
        return list(self._read(lambda s: s.households()))

    def history(self, home: str) -> list[dict[str, Any]]:
        """Staff actions on a home's alerts, newest first (with their notes)."""
        return list(self._read(lambda s: s.history(home)))

    def stats(self) -> dict[str, int]:
        """Webhooks by outcome since this process started (its /metrics)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        found = re.findall(r'community_webhooks_total\{outcome="(\w+)"\} ([0-9.]+)', text)
        names = {"stored": "received", "duplicate": "duplicates", "rejected": "rejected"}
        return {names.get(k, k): int(float(v)) for k, v in found}

    def message_ids(self) -> list[str]:
        from sqlalchemy import select

        from community.db import messages

        def ids(store: Any) -> list[str]:
            with store.engine.connect() as db:
                return [r[0] for r in db.execute(select(messages.c.id))]

        return list(self._read(ids))


class HubProcess:
    def __init__(
        self, tmp: Path, *, scenario: str | None, speed: float, alerts: dict[str, Any], home: str = HOME,
        name: str = "hub",
    ) -> None:  # fmt: skip
        self.api_port = free_port()
        self.home = home
        self.dir = tmp / name
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
            "home": {"id": home, "name": "Mrs Chen's flat", "division_code": "110105"},
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
