"""REST poller of the API-under-load scenario, as its own process.

``python -m bench.restpoll --api URL --token T [--health URL] [--rate 50] [--health-interval 0.1]``

Open loop: a request is started every ``1/rate`` s whether or not earlier ones have been
answered (a slow hub shows as latency, not as a lower request rate), cycling through
``GET /devices``, ``GET /devices/{id}/state`` and ``GET /events``; beside it ``GET /health``
every ``health-interval`` s on the API's port and, with ``--health``, on the health port (what a
load balancer probes). Prints ``ready``, runs until SIGTERM, then one JSON line:
``{"rest": [[t, ms, status, route], ...], "api_health": [...], "health": [...]}`` with ``t`` the start of each request
(``time.monotonic()``, the same clock as the bench's) and ``route`` 0, 1, 2 for devices, state, events.
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
#: the REST requests cycle through this many routes (devices, state, events): a sample's 4th field
ROUTES = 3


async def _timed(session: aiohttp.ClientSession, url: str, kind: int, out: list[Sample]) -> None:
    t0 = time.monotonic()
    try:
        async with session.get(url) as resp:
            await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    out.append([t0, (time.monotonic() - t0) * 1000, status, kind])


async def _ticker(interval: float, urls: list[str], session: aiohttp.ClientSession, out: list[Sample],
                  stop: asyncio.Event, pending: set[asyncio.Task[None]]) -> None:  # fmt: skip
    start, n = time.monotonic(), 0
    while not stop.is_set():
        task = asyncio.create_task(_timed(session, urls[n % len(urls)], n % ROUTES, out))
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
        api_health: list[Sample] = []
        health: list[Sample] = []
        pending: set[asyncio.Task[None]] = set()
        tickers = [
            _ticker(1 / args.rate, rest_urls, session, rest, stop, pending),
            _ticker(args.health_interval, [f"{args.api}/health"], session, api_health, stop, pending),
        ]
        if args.health:
            tickers.append(_ticker(args.health_interval, [args.health], session, health, stop, pending))
        print("ready", flush=True)
        await asyncio.gather(*tickers)
        if pending:
            await asyncio.wait(pending, timeout=60)
    return {"rest": rest, "api_health": api_health, "health": health}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--health", help="URL of /health on the health port")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--health-interval", type=float, default=0.1)
    result = asyncio.run(run(parser.parse_args(argv)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
