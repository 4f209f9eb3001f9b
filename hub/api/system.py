"""Health, the OpenAPI document, Prometheus metrics, the capability catalog and the alert kinds."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from dhi.alertkinds import default_alert_kinds
from dhi.errors import NotFound
from dhi.models import DHI_VERSION
from hub.api.context import api
from hub.api.http import json_response
from hub.api.models import CatalogView, Health
from hub.api.openapi import served_document
from hub.supervisor import SlotState

if TYPE_CHECKING:
    from hub.core import Hub


@cache  # read once: /health must stay cheap when the hub is busy
def _version() -> str:
    try:
        return version("dhome")
    except PackageNotFoundError:
        return "0+unknown"


def health_view(hub: Hub) -> Health:
    """The health document, from what the loop keeps current (the supervisor's slots, the bus's
    seq), never from storage. Also what the health port's snapshot is made of (``healthserver``)."""
    degraded = any(slot.state is not SlotState.RUNNING for slot in hub.supervisor.slots.values())
    return Health(
        status="degraded" if degraded else "ok",
        home=hub.config.home.id,
        version=_version(),
        dhi_version=DHI_VERSION,
        seq=hub.bus.seq,
        drill=hub.drill,
    )


async def health(request: web.Request) -> web.Response:
    """No token needed: for load balancers and ``dhome discover``; reveals no personal data.

    Quick to answer, but on the loop: while the hub is saturated a probe waits for its turn. The
    health port (``api.health_port``, ``hub.api.healthserver``) answers from a thread."""
    return json_response(health_view(api(request).hub))


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=served_document(), content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    ctx = api(request)
    body = ctx.metrics.render(ws_depth=ctx.fanout.depth())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def catalog(request: web.Request) -> web.Response:
    cat = api(request).hub.catalog
    return json_response(CatalogView(capabilities=list(cat.values()), units=list(cat.units.values())))


async def catalog_capability(request: web.Request) -> web.Response:
    cap_id = request.match_info["capability"]
    cap = api(request).hub.catalog.get(cap_id)
    if cap is None:
        raise NotFound(f"capability {cap_id!r} is not in the catalog", field="capability")
    return json_response(cap)


async def alert_kinds(request: web.Request) -> web.Response:
    """What each alert kind is (spec/interface/alerts.yaml): labels, summary, advice, numbers to
    call, class (safety / care / notice) and CAP mapping — the web app and platforms read this."""
    return json_response(default_alert_kinds().document)
