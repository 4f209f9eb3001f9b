"""REST poller of the API-under-load scenario, as its own process.

``python -m bench.restpoll --api URL --token T [--rate 50] [--health-interval 0.1]``

Open loop: a request is started every ``1/rate`` s whether or not earlier ones have been
answered (a slow hub shows as latency, not as a lower request rate), cycling through
``GET /devices``, ``GET /devices/{id}/state`` and ``GET /events``; beside it ``GET /health``
every ``health-interval`` s. Prints ``ready``, runs until SIGTERM, then one JSON line:
``{"rest": [[t, ms, status], ...], "health": [...]}`` with ``t`` the start of each request
(``time.monotonic()``, the same clock as the bench's).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any

import aiohttp
import orjson

Sample = list[float]


async def _timed(session: aiohttp.ClientSession, url: str, out: list[Sample]) -> None:
    t0 = time.monotonic()
    try:
        async with session.get(url) as resp:
            await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    out.append([t0, (time.monotonic() - t0) * 1000, status])


async def _ticker(interval: float, urls: list[str], session: aiohttp.ClientSession, out: list[Sample],
                  stop: asyncio.Event, pending: set[asyncio.Task[None]]) -> None:  # fmt: skip
    start, n = time.monotonic(), 0
    while not stop.is_set():
        task = asyncio.create_task(_timed(session, urls[n % len(urls)], out))
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    headers = {"Authorization": f"Bearer {args.token}"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=0)) as session:  # fmt: skip
        async with session.get(f"{args.api}/devices?limit=10") as resp:
            body = await resp.json()
        ids = [entry["device"]["id"] for entry in body["items"]]
        if not ids:
            raise SystemExit("restpoll: the hub lists no devices")
        rest_urls = [u for i in ids for u in (f"{args.api}/devices?limit=50", f"{args.api}/devices/{i}/state",
                                              f"{args.api}/events?limit=100")]  # fmt: skip
        rest: list[Sample] = []
        health: list[Sample] = []
        pending: set[asyncio.Task[None]] = set()
        print("ready", flush=True)
        await asyncio.gather(
            _ticker(1 / args.rate, rest_urls, session, rest, stop, pending),
            _ticker(args.health_interval, [f"{args.api}/health"], session, health, stop, pending),
        )
        if pending:
            await asyncio.wait(pending, timeout=60)
    return {"rest": rest, "health": health}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--health-interval", type=float, default=0.1)
    result = asyncio.run(run(parser.parse_args(argv)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
