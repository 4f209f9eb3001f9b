"""The platform's web application: DHI intake, staff console, reports, health and metrics, and
the two background jobs (escalation to supervisors, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from community import console, intake, reports
from community.config import Settings
from community.db import make_engine, migrate
from community.jetstream import JetStreamWorker
from community.metrics import Metrics
from community.store import Store
from community.uplink import UplinkSubscriber
from community.web import LIVE, METRICS, SETTINGS, STORE, Live, ok, problem, run

log = logging.getLogger("community")
ESCALATION_EVERY = 5.0
#: whether this process runs the MQTT uplink subscriber (one process of several: one session)
UPLINK: web.AppKey[bool] = web.AppKey("uplink", bool)
RETENTION_EVERY = 3600.0


async def health(request: web.Request) -> web.Response:
    try:
        counts = await run(request.app[STORE].counts)
    except Exception as exc:  # the database is away: say so, do not crash
        return problem(503, "Unhealthy", f"database: {type(exc).__name__}")
    return ok({"status": "ok", "database": request.app[STORE].engine.dialect.name, "rows": counts})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _every(seconds: float, job: str, fn: object) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await fn()  # type: ignore[operator]
        except Exception:
            log.exception("%s failed; trying again later", job)


async def background(app: web.Application) -> AsyncIterator[None]:
    settings, store, live, m = app[SETTINGS], app[STORE], app[LIVE], app[METRICS]

    async def escalate() -> None:
        for shown in await asyncio.to_thread(
            store.escalate_due, timedelta(minutes=settings.escalate_after_minutes)
        ):
            m.escalations.inc()
            log.warning("alert escalated to supervisors", extra={"home": shown["home"], "alert": shown["id"]})
            live.push("alert", shown)

    async def retain() -> None:
        gone = await asyncio.to_thread(store.purge, timedelta(days=settings.retention_days))
        if any(gone.values()):
            log.info("retention: deleted old rows", extra=gone)

    subscriber = None
    if settings.mqtt is not None and app[UPLINK]:
        subscriber = UplinkSubscriber(
            settings.mqtt, store, m,
            on_alert=lambda a: live.push("alert", a), on_household=lambda h: live.push("household", {"home": h}),
        )  # fmt: skip
        await subscriber.start()
    # city scale: every process of the platform is a worker of the shared durable consumer
    city = None
    if settings.nats is not None:
        city = JetStreamWorker(
            settings.nats, store, m,
            on_alert=lambda a: live.push("alert", a), on_household=lambda h: live.push("household", {"home": h}),
        )  # fmt: skip
        await city.start()
    tasks = [
        asyncio.create_task(_every(ESCALATION_EVERY, "escalation", escalate)),
        asyncio.create_task(_every(RETENTION_EVERY, "retention", retain)),
    ]
    yield
    if subscriber is not None:
        await subscriber.stop()
    if city is not None:
        await city.stop()
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t


def create_app(settings: Settings, store: Store | None = None, *, uplink: bool = True) -> web.Application:
    app = web.Application(client_max_size=intake.MAX_BODY + 1024)
    app[SETTINGS] = settings
    if store is None:
        engine = make_engine(settings.database)
        migrate(engine)
        store = Store(engine)
    app[STORE] = store
    app[UPLINK] = uplink
    app[LIVE] = Live()
    app[METRICS] = Metrics()
    app[intake.LIMITER] = intake.CodeLimiter()

    async def on_shutdown(app: web.Application) -> None:
        app[LIVE].close()  # open consoles end their streams; the browser reconnects elsewhere

    async def on_cleanup(app: web.Application) -> None:
        app[STORE].engine.dispose()

    app.cleanup_ctx.append(background)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/dhi/v1/enrol", intake.enrol)
    app.router.add_post("/dhi/v1/homes/{home}/events", intake.events)
    app.router.add_post("/webhook", intake.any_home_events)
    app.router.add_post("/dhi/v1/homes/{home}/acks", intake.acks)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    console.add_routes(app)
    reports.add_routes(app)
    return app
