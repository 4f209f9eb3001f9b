"""WebSocket clients of the API-under-load scenario, all in this one process (so the 2-core
machine runs one client process beside the hub, not hundreds).

``python -m bench.wsclients --url WS --token T --clients N``

N clients subscribe to ``state.changed`` with ``batch: true`` and read as fast as they can
(one coroutine each, one aiohttp session, one event loop; offering ``permessage-deflate`` as
browsers do, unless ``--deflate 0``); one more client subscribes the same way and never reads.
Prints ``ready`` once every subscription is acknowledged, runs until SIGTERM, reads on what
the hub had already sent (``--drain``), then prints one JSON line: per reading client the
``state.changed`` messages received and how its connection ended (close code and reason, if
the hub closed it), and the same for the idle client, and the process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from typing import Any

import aiohttp
import orjson

#: every ``state.changed`` message in a frame carries its type exactly once, as the hub writes it
MARK = '"type":"org.dhi.v1.state.changed"'
SUBSCRIBE = {"type": "subscribe", "id": "s", "filter": {"types": ["org.dhi.v1.state.changed"]}, "batch": True}


async def _open(
    session: aiohttp.ClientSession, url: str, token: str, deflate: int
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, max_msg_size=0, heartbeat=None, compress=deflate)
    await ws.send_str(orjson.dumps({"type": "auth", "token": token}).decode())
    await ws.send_str(orjson.dumps(SUBSCRIBE).decode())
    while True:  # until the subscription is acknowledged
        msg = await ws.receive(timeout=60)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise SystemExit(f"wsclients: connection ended while subscribing: {msg.type} {msg.extra}")
        frame = orjson.loads(msg.data)
        if frame.get("type") == "error":
            raise SystemExit(f"wsclients: subscribe refused: {frame}")
        if frame.get("type") == "subscribed":
            return ws


def _ending(ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage | None) -> dict[str, Any]:
    if msg is not None and msg.type is aiohttp.WSMsgType.CLOSE:
        return {"code": msg.data, "reason": msg.extra or ""}
    if msg is not None:  # the connection ended without a close frame (cut, or an error)
        return {"code": ws.close_code, "reason": f"no close frame: {msg.type.name}"}
    return {"code": ws.close_code, "reason": ""}


async def _read(ws: aiohttp.ClientWebSocketResponse, got: dict[str, Any]) -> None:
    while True:
        msg = await ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            got["received"] += msg.data.count(MARK)
            continue
        got.update(_ending(ws, msg))
        return


async def _idle_fate(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> dict[str, Any]:
    """How the idle client's connection ended: read what is buffered (briefly) up to a close."""
    got: dict[str, Any] = {"received": 0, "code": None, "reason": ""}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await _read(ws, got)
    return got


async def _drain(results: list[dict[str, Any]], seconds: float) -> None:
    """Read on what the hub has already sent (in this process's socket buffers) until half a
    second passes without a message, for at most ``seconds``: one process reading for N
    clients may lag behind the hub, which is not what "delivered" measures."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    total = -1
    while loop.time() < deadline and total != (now := sum(r["received"] for r in results)):
        total = now
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        sockets = await asyncio.gather(
            *(_open(session, args.url, args.token, args.deflate) for _ in range(args.clients + 1))
        )
        idle, readers = sockets[0], sockets[1:]
        results: list[dict[str, Any]] = [{"received": 0, "code": None, "reason": ""} for _ in readers]
        tasks = [asyncio.create_task(_read(ws, got)) for ws, got in zip(readers, results, strict=True)]
        print("ready", flush=True)
        await stop.wait()
        await _drain(results, args.drain)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        idle_result = await _idle_fate(idle, args.idle_drain)
        for ws in sockets:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await ws.close()
    # whether this one process could keep up is part of reading the figures: its CPU time
    return {"clients": results, "idle": idle_result, "cpu_seconds": time.process_time()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument(
        "--deflate",
        type=int,
        default=15,
        help="offer permessage-deflate with this window, as browsers do (0: plain frames)",
    )
    parser.add_argument(
        "--drain", type=float, default=15.0, help="at most this long to read what was sent, after SIGTERM"
    )
    parser.add_argument(
        "--idle-drain", type=float, default=5.0, help="seconds to look for the idle client's close"
    )
    result = asyncio.run(run(parser.parse_args(argv)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
