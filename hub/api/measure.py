"""Per-route request counts and latency: ``dhome_api_requests`` and ``dhome_api_request_seconds``."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.api.context import API


def route_of(request: web.Request) -> str:
    """The route template (``/api/v1/devices/{id}``), never the concrete path: bounded labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def measure_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    websocket = False
    try:
        response = await handler(request)
        status = response.status
        websocket = isinstance(response, web.WebSocketResponse)
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[API].metrics
        route = route_of(request)
        metrics.requests.labels(request.method, route, str(status)).inc()
        if not websocket:  # a WebSocket's time is its session's length, not an answer's
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
