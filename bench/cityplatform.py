"""The platform side of the city set-up, for the tests and the bench: a settings file pointing at
the NATS cluster and a database, households enrolled in bulk, and ``dhome-community worker``
processes started, killed (``kill -9``) and stopped one by one."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from sqlalchemy import func, insert, select, text

from bench.broker import BenchError
from bench.natscluster import NatsCluster
from bench.procs import wait_or_kill
from community.db import households, make_engine, messages, migrate

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60.0


def write_settings(
    path: Path, database: str, cluster: NatsCluster, *, prefix: str = "dhi/v1", ack_wait: float = 30.0,
    batch: int = 100, durable: str = "dhi-platform",
) -> Path:  # fmt: skip
    settings: dict[str, Any] = {
        "database": database,
        "log_format": "text",
        "nats": {
            "servers": cluster.nats_urls,
            "mqtt": cluster.mqtt_urls,
            "topic_prefix": prefix,
            "ack_wait": ack_wait,
            "batch": batch,
            "durable": durable,
        },
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def enrol(database: str, homes: list[str]) -> None:
    """Enrol households in one transaction (the schema made first)."""
    engine = make_engine(database)
    migrate(engine)
    now = datetime.now(UTC)
    rows = [
        {"home": h, "name": h, "address": "", "contacts": [], "consent": {"alert_kinds": [], "fields": None},
         "secret": "whsec_" + base64.b64encode(os.urandom(24)).decode(), "enrolled_at": now}
        for h in homes
    ]  # fmt: skip
    with engine.begin() as db:
        for start in range(0, len(rows), 1000):
            db.execute(insert(households), rows[start : start + 1000])
    engine.dispose()


def committed(database: str) -> tuple[int, int]:
    """(message rows, distinct message ids) stored so far."""
    engine = make_engine(database)
    with engine.connect() as db:
        row = db.execute(select(func.count(), func.count(messages.c.id.distinct()))).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def latencies(database: str) -> list[float]:
    """Seconds from each alert's raise (its CloudEvent time: the simulated hub publishes at once)
    to its commit (the message row's receive time), PostgreSQL only."""
    engine = make_engine(database)
    query = text(
        "SELECT EXTRACT(EPOCH FROM (m.received_at - a.message_time)) FROM messages m "
        "JOIN alerts a ON a.home = m.home AND m.id = a.alert_id || '.raised'"
    )
    with engine.connect() as db:
        values = [float(r[0]) for r in db.execute(query)]
    engine.dispose()
    return values


def stored_ids(database: str) -> set[str]:
    engine = make_engine(database)
    with engine.connect() as db:
        ids = {str(r[0]) for r in db.execute(select(messages.c.id))}
    engine.dispose()
    return ids


def span(database: str) -> float:
    """Seconds from the first alert raised to the last one committed (PostgreSQL only)."""
    engine = make_engine(database)
    query = text(
        "SELECT EXTRACT(EPOCH FROM (max(m.received_at) - min(a.message_time))) FROM messages m "
        "JOIN alerts a ON a.home = m.home AND m.id = a.alert_id || '.raised'"
    )
    with engine.connect() as db:
        value = db.execute(query).scalar()
    engine.dispose()
    return float(value or 0.0)


class Worker:
    """One ``dhome-community worker`` process."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.counts: dict[str, int] = {}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "community", "--config", str(config), "worker"],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=out,
            )  # fmt: skip

    def wait_ready(self) -> Worker:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if line != "worker ready":
            self.kill()
            raise BenchError(
                f"worker did not start ({line!r}): {self.log.read_text(errors='replace')[-2000:]}"
            )
        return self

    def kill(self) -> None:
        """``kill -9``: no goodbye; what it had fetched and not acknowledged waits for ``ack_wait``."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        """SIGTERM; ``counts`` then holds what it reported (messages by outcome)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            wait_or_kill(self.proc)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            for line in self.proc.stdout.read().decode(errors="replace").splitlines():
                if line.startswith("worker done "):
                    self.counts = json.loads(line.removeprefix("worker done "))
        self._close()


class Workers:
    """``with Workers(config, dir, n) as w:`` — n workers started and ready; all stopped at exit."""

    def __init__(self, config: Path, workdir: Path, n: int) -> None:
        self.config, self.dir = config, workdir
        self.all: list[Worker] = []
        self.add(n)

    def add(self, n: int = 1) -> list[Worker]:
        new = [Worker(self.config, self.dir / f"worker-{len(self.all) + i}.log") for i in range(n)]
        self.all += new
        for w in new:
            w.wait_ready()
        return new

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for w in self.all:
            w.stop()
