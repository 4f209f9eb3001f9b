"""What every handler shares: the app keys, problem responses, running store calls off the loop,
and the live channel to open consoles."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from community.config import Settings
from community.metrics import Metrics
from community.store import Store

log = logging.getLogger("community")


class Live:
    """Open console pages (Server-Sent Events), and a wake-up for waiting acknowledgement polls."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str | None]] = set()
        self.changed = asyncio.Condition()

    def push(self, event: str, data: dict[str, Any]) -> None:
        frame = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for q in list(self.queues):
            if q.qsize() < 1000:
                q.put_nowait(frame)

    async def wake(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def close(self) -> None:
        for q in list(self.queues):
            q.put_nowait(None)


SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store", Store)
LIVE: web.AppKey[Live] = web.AppKey("live", Live)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


async def run[T](fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A store call in a worker thread: the database never blocks the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def problem(status: int, title: str, detail: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
        status=status,
        content_type="application/problem+json",
        dumps=lambda o: json.dumps(o, ensure_ascii=False),
    )


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def json_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return problem(400, "Bad request", "the body is not JSON")
    if not isinstance(body, dict):
        return problem(400, "Bad request", "the body must be a JSON object")
    return body
