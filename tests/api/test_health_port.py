"""The hub stays answerable while it is saturated (issue 26): ``/health`` on its own port from a
thread, which says "degraded" once the loop stops refreshing it; ``GET /events`` does not wait
for a backlog of telemetry. No timings asserted: what is answered while the loop or SQLite's
telemetry thread is deliberately held."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from dhi.errors import ConfigError
from hub.api.models import Scope
from tests.api.support import TEST_SETTINGS, THERMO, hub_config, probe_ctx, running_hub
from tests.support.net import free_port

FAST = dataclasses.replace(TEST_SETTINGS, health_refresh=0.02, health_stale=0.2)


def probe(url: str) -> tuple[int, dict[str, Any]]:
    """``GET`` with the stdlib, synchronously: usable while the test holds the event loop."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


async def test_the_health_port_answers_while_the_loop_is_blocked_and_says_degraded_once_stale(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, settings=FAST) as h:
        port = h.api.health_port
        assert port and port != h.api.port
        url = f"http://127.0.0.1:{port}/health"
        async with http.get(h.url + "/health") as resp:
            on_api = await resp.json()
        for _ in range(3000):  # the loop refreshes the snapshot: it reaches the thread
            status, doc = await asyncio.to_thread(probe, url)
            if doc.get("seq") == on_api["seq"]:
                break
            await asyncio.sleep(0.01)
        assert status == 200
        assert doc == on_api and doc["status"] == "ok" and doc["home"] == h.hub.config.home.id
        # the API's path is answered on the health port too, other paths are not
        assert (await asyncio.to_thread(probe, f"http://127.0.0.1:{port}/api/v1/health"))[0] == 200
        assert (await asyncio.to_thread(probe, f"http://127.0.0.1:{port}/api/v1/devices"))[0] == 404

        # Hold the event loop (this synchronous block runs on it): the thread still answers,
        # and once the snapshot is older than health_stale it says the hub is not healthy.
        answers: list[tuple[int, dict[str, Any]]] = []
        for _ in range(1000):
            answers.append(probe(url))
            if answers[-1][0] == 503:
                break
            time.sleep(0.01)  # on the loop: holding it is the point
        status, doc = answers[-1]
        assert status == 503, answers[-3:]
        assert doc["status"] == "degraded" and doc["stale"] > 0 and doc["home"] == h.hub.config.home.id

        # the loop turns again: healthy again
        for _ in range(3000):
            status, doc = await asyncio.to_thread(probe, url)
            if status == 200:
                break
            await asyncio.sleep(0.01)
        assert status == 200 and doc["status"] == "ok" and "stale" not in doc
    assert h.api.health_port == 0


async def test_a_health_port_named_in_the_config_that_is_taken_is_a_config_error(tmp_path: Path) -> None:
    cfg = hub_config()
    cfg.api.health_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", cfg.api.health_port))
        taken.listen()
        with pytest.raises(ConfigError, match=r"api\.health_port"):
            async with running_hub(tmp_path, config=cfg):
                pass


async def test_events_answer_with_the_settled_log_while_a_telemetry_backlog_waits(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path) as h:
        ctx = probe_ctx(h.hub)
        storage = h.hub.storage
        start = h.hub.bus.seq
        for i in range(100):  # committed before the backlog
            ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 100})
        await storage.flush()
        settled = h.hub.bus.seq
        held, holding = threading.Event(), threading.Event()

        def hold() -> None:
            holding.set()
            held.wait()

        stuck = asyncio.get_running_loop().run_in_executor(storage._telemetry_pool, hold)
        # the telemetry thread may still be finishing the drain that flushed: only once it holds
        # is the backlog sure to wait (the drain commits whatever it finds queued, chunk by chunk)
        await asyncio.to_thread(holding.wait, 60)
        try:
            # SQLite's telemetry thread is held: a backlog larger than a batch waits for it
            for i in range(100, 3100):
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 100})
            assert storage.telemetry_depth >= 2000
            url = f"{h.url}/events?since={start}&limit=1000"
            async with asyncio.timeout(60):  # a bound, not a timing: before, this waited for `held`
                async with http.get(url, headers=h.auth(Scope.READ)) as resp:
                    page = await resp.json()
            seqs = [m["seq"] for m in page["items"]]
            # what was settled, in order, and nothing past the oldest row still queued
            assert seqs and seqs[0] == start + 1 and seqs == list(range(start + 1, start + 1 + len(seqs)))
            assert seqs[-1] <= settled < h.hub.bus.seq
        finally:
            held.set()
            await stuck
        await storage.flush()  # the backlog is committed: later pages have the rest
        # paging on from the cursor reaches every message, without a gap
        cursor, got = page["next"], seqs
        for _ in range(100):
            async with http.get(
                f"{h.url}/events?since={cursor}&limit=1000", headers=h.auth(Scope.READ)
            ) as resp:
                more = await resp.json()
            if not more["items"]:
                break
            got += [m["seq"] for m in more["items"]]
            cursor = more["next"]
        state_seqs = [s for s in got if s > start]
        assert state_seqs == list(range(start + 1, h.hub.bus.seq + 1))
