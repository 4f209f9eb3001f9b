"""The community platform's intake: signed webhooks accepted *and stored* per second on
PostgreSQL, with 1 and 2 worker processes (``dhome-community serve --workers N``), against the
ceiling of the same run: a bare aiohttp handler that only verifies the signature.

Every message is a distinct alert (``alert.raised``, its own id), pre-signed before the clock
starts; the load generator (this process, aiohttp, a fixed number of requests in flight) shares
the machine with the server, the same way for every figure. After each run the stored rows are
counted: a figure only counts if every message was stored once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import yaml
from standardwebhooks.webhooks import Webhook

from bench.broker import BenchError, free_port
from bench.figures import Figure
from bench.hubproc import REPO, wait_until
from bench.postgres import PostgresMissing, PostgresServer
from bench.progress import Display

HOME = "bench-home"


@dataclass(frozen=True)
class Size:
    messages: int = 6000
    in_flight: int = 32


Signed = tuple[bytes, dict[str, str]]


def signed_batch(secret: str, n: int) -> list[Signed]:
    hook, now = Webhook(secret), datetime.now(UTC)
    batch = []
    for i in range(n):
        msg_id = f"bench-{os.getpid()}-{time.monotonic_ns()}-{i}"
        event = {"specversion": "1.0", "id": msg_id, "source": f"dhome://{HOME}", "type": "org.dhi.v1.alert.raised",
                 "time": now.isoformat(), "data": {"alert": {"id": f"a-{msg_id}", "kind": "smoke", "severity": "Extreme",
                 "state": "active", "home": HOME, "first_seen": now.isoformat(), "last_seen": now.isoformat()}}}  # fmt: skip
        body = json.dumps(event, separators=(",", ":"))
        batch.append((body.encode(), {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                                      "webhook-signature": hook.sign(msg_id, now, body),
                                      "Content-Type": "application/cloudevents+json"}))  # fmt: skip
    return batch


async def _blast(url: str, batch: list[Signed], in_flight: int) -> float:
    queue = iter(batch)
    failures: list[str] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        for body, headers in queue:
            async with session.post(url, data=body, headers=headers) as resp:
                if resp.status != 200:
                    failures.append(f"{resp.status} {(await resp.text())[:200]}")
                await resp.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(in_flight)))
        elapsed = time.perf_counter() - t0
    if failures:
        raise BenchError(f"{len(failures)} webhooks refused, e.g. {failures[0]}")
    return len(batch) / elapsed


def _listening(url: str, proc: subprocess.Popen[bytes], log: Path) -> bool:
    if proc.poll() is not None:
        raise BenchError(f"the server exited at start: {log.read_text(errors='replace')[-2000:]}")
    try:
        with urllib.request.urlopen(url + "/health", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class Server:
    def __init__(self, argv: list[str], workdir: Path, port: int, stdin: str = "") -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "server.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT
            )
        assert self.proc.stdin is not None
        self.proc.stdin.write(stdin.encode() + b"\n")
        self.proc.stdin.close()
        wait_until(lambda: _listening(self.url, self.proc, self.log), 60, "the server to listen")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def _platform(workdir: Path, database: str, workers: int, secret: str) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "community.yaml"
    config.write_text(yaml.safe_dump({"host": "127.0.0.1", "port": port, "database": database,
                                      "public_url": f"http://127.0.0.1:{port}", "log_format": "text"}))  # fmt: skip
    base = [sys.executable, "-m", "community", "--config", str(config)]
    subprocess.run([*base, "home", "add", HOME, "--name", "bench"], input=secret + "\n", text=True, check=True,
                   capture_output=True, cwd=REPO, timeout=120)  # fmt: skip
    return Server([*base, "serve", "--workers", str(workers)], workdir, port)


def _stored(database: str) -> int:
    from community.db import make_engine
    from community.store import Store

    store = Store(make_engine(database))
    try:
        return store.counts()["messages"]
    finally:
        store.engine.dispose()


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    workdir.mkdir(parents=True, exist_ok=True)
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    try:
        pg = PostgresServer()
    except PostgresMissing as exc:
        raise BenchError(str(exc)) from exc
    pg.start()
    try:
        with display.step("platform: bare signature check", 1) as update:
            bare_dir = workdir / "bare"
            bare_dir.mkdir(exist_ok=True)
            port = free_port()
            bare = Server(
                [sys.executable, "-m", "bench.verify_only", str(port)], bare_dir, port, stdin=secret
            )
            try:
                ceiling = asyncio.run(_blast(bare.url + f"/dhi/v1/homes/{HOME}/events",
                                             signed_batch(secret, size.messages), size.in_flight))  # fmt: skip
            finally:
                bare.stop()
            update(1)
        figures = [Figure("platform.bare_verify", round(ceiling), "webhooks/s", None,
                          note="aiohttp handler that only verifies the Standard Webhooks signature, 1 process")]  # fmt: skip
        for workers in (1, 2):
            with display.step(f"platform: stored on PostgreSQL, {workers} worker(s)", 1) as update:
                database = pg.create_database()
                server = _platform(workdir / f"workers-{workers}", database, workers, secret)
                try:
                    rate = asyncio.run(_blast(server.url + f"/dhi/v1/homes/{HOME}/events",
                                              signed_batch(secret, size.messages), size.in_flight))  # fmt: skip
                finally:
                    server.stop()
                stored = _stored(database)
                if stored != size.messages:
                    raise BenchError(f"{workers} worker(s): {stored} of {size.messages} messages stored")
                update(1)
            figures.append(Figure(
                f"platform.pg_{workers}_worker{'s' if workers > 1 else ''}", round(rate), "webhooks/s", round(ceiling),
                note=f"{size.messages} signed alerts, {size.in_flight} in flight; verified, de-duplicated by id and "
                "stored in one transaction each; load generator on the same 2 cores",
            ))  # fmt: skip
        return figures
    finally:
        pg.stop()
