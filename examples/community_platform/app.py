"""The platform's web service (aiohttp).

* ``POST /webhook`` — a hub delivers a CloudEvent; verified with Standard Webhooks against the
  configured secrets, de-duplicated by ``webhook-id``, stored, pushed to open pages.
* ``GET /`` — the live page (static/), ``GET /events`` — Server-Sent Events for it.
* ``GET /api/alerts[?open=1]``, ``GET /api/homes``, ``GET /api/stats`` — JSON for the page.
* ``POST /api/alerts/{home}/{id}/ack`` ``{"by": "staff name"}`` — acknowledges on the home's hub
  (``POST <hub>/api/v1/alerts/{id}/ack`` with its ``alerts``-scope token) and shows the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from examples.community_platform.settings import Settings
from examples.community_platform.store import Store

log = logging.getLogger("community_platform")
STATIC = Path(__file__).resolve().parent / "static"
HEARTBEAT = 15.0

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store", Store)
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http", aiohttp.ClientSession)


class Live:
    """Open pages, each with a queue of changes to push."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str | None]] = set()

    def push(self, event: str, data: dict[str, Any]) -> None:
        frame = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for q in list(self.queues):
            if q.qsize() < 1000:
                q.put_nowait(frame)

    def close(self) -> None:
        for q in list(self.queues):
            q.put_nowait(None)


LIVE: web.AppKey[Live] = web.AppKey("live", Live)


def problem(status: int, title: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


async def webhook(request: web.Request) -> web.Response:
    store = request.app[STORE]
    body = await request.read()
    headers = dict(request.headers)
    event: Any = None
    for secret in request.app[SETTINGS].secrets:
        try:
            event = Webhook(secret).verify(body, headers)
            break
        except WebhookVerificationError:
            continue
        except ValueError:
            return problem(400, "Bad request", "body is not JSON")
    if not isinstance(event, dict):
        store.count("rejected")
        log.warning("rejected a webhook that does not verify (%s)", request.remote)
        return problem(401, "Unauthorized", "signature does not verify")
    message_id = request.headers["webhook-id"]
    if event.get("id") not in (None, message_id):
        store.count("rejected")
        return problem(400, "Bad request", "webhook-id and the CloudEvent id differ")
    outcome = store.receive(message_id, event)
    if outcome.alert is not None:
        request.app[LIVE].push("alert", outcome.alert)
    return web.json_response({"duplicate": outcome.duplicate})


async def list_alerts(request: web.Request) -> web.Response:
    open_only = request.query.get("open", "0") in ("1", "true")
    return web.json_response({"items": request.app[STORE].alerts(open_only=open_only)})


async def list_homes(request: web.Request) -> web.Response:
    return web.json_response({"items": request.app[STORE].homes()})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STORE].counters())


async def acknowledge(request: web.Request) -> web.Response:
    home, alert_id = request.match_info["home"], request.match_info["id"]
    settings, store = request.app[SETTINGS], request.app[STORE]
    try:
        body = await request.json()
    except ValueError:
        body = {}
    staff = str(body.get("by") or "staff")[:100] if isinstance(body, dict) else "staff"
    link = settings.hubs.get(home)
    if link is None:
        return problem(404, "Unknown home", f"no hub configured for home {home!r}")
    if store.alert(home, alert_id) is None:
        return problem(404, "Unknown alert", f"no alert {alert_id!r} from home {home!r}")
    url = f"{link.url.rstrip('/')}/api/v1/alerts/{quote(alert_id, safe='')}/ack"
    try:
        async with request.app[HTTP].post(url, headers={"Authorization": f"Bearer {link.token}"}) as resp:
            answer = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(answer, dict):
                detail = answer.get("detail") if isinstance(answer, dict) else None
                return problem(502, "Hub refused", f"{home}: hub answered {resp.status}: {detail or answer}")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return problem(502, "Hub unreachable", f"{home}: {type(exc).__name__}: {exc}")
    shown = store.acknowledged(home, answer, staff)
    if shown is not None:
        request.app[LIVE].push("alert", shown)
    return web.json_response(shown)


async def events(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    live = request.app[LIVE]
    live.queues.add(queue)
    try:
        await resp.write(b": connected\n\n")
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                frame = ": keep-alive\n\n"
            if frame is None:
                break
            await resp.write(frame.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        live.queues.discard(queue)
    return resp


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def config_js(request: web.Request) -> web.Response:
    data = {"title": request.app[SETTINGS].title, "homes": sorted(request.app[SETTINGS].hubs)}
    return web.Response(
        text=f"window.PLATFORM = {json.dumps(data, ensure_ascii=False)};", content_type="text/javascript"
    )


def create_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[STORE] = Store(settings.database)
    app[LIVE] = Live()

    async def client(app: web.Application) -> Any:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            app[HTTP] = session
            yield

    async def on_shutdown(app: web.Application) -> None:
        app[LIVE].close()

    async def on_cleanup(app: web.Application) -> None:
        with contextlib.suppress(Exception):
            app[STORE].close()

    app.cleanup_ctx.append(client)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/", index)
    app.router.add_get("/config.js", config_js)
    app.router.add_get("/events", events)
    app.router.add_get("/api/alerts", list_alerts)
    app.router.add_get("/api/homes", list_homes)
    app.router.add_get("/api/stats", stats)
    app.router.add_post("/api/alerts/{home}/{id}/ack", acknowledge)
    app.router.add_static("/static/", STATIC)
    return app
