"""``/alerts``: served by the alert engine (``hub.alerts``), 503 while it is not running."""

from __future__ import annotations

from aiohttp import web

from dhi.errors import NotFound, ServiceUnavailable
from hub.api.context import PRINCIPAL, api
from hub.api.http import json_response, q_int, q_str
from hub.api.models import AlertList, AlertStateValue
from hub.services import AlertService


def _service(request: web.Request) -> AlertService:
    service = api(request).hub.alerts
    if service is None:
        raise ServiceUnavailable("the alert engine is not running on this hub")
    return service


async def list_alerts(request: web.Request) -> web.Response:
    state = q_str(request, "state", AlertStateValue)
    limit = q_int(request, "limit", 100, 1, 1000)
    alerts = _service(request).list_alerts(state, limit)
    return json_response(AlertList(items=alerts))


async def get_alert(request: web.Request) -> web.Response:
    alert_id = request.match_info["id"]
    alert = _service(request).get_alert(alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id!r}", field="id")
    return json_response(alert)


async def ack_alert(request: web.Request) -> web.Response:
    """Acknowledge (idempotent): someone is taking care of it."""
    service = _service(request)
    alert = await service.acknowledge(request.match_info["id"], by=request[PRINCIPAL].actor)
    return json_response(alert)
