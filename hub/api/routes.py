"""Every route of the API and the scope it needs: one table, checked against ``openapi.yaml``.

``scope=None`` marks the only public routes (health and the API document). Which scope
includes which is ``hub.api.auth.IMPLIES``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dhi.errors import BadRequest
from hub.api import admin, alerts, devices, events, settings, subscriptions, system, ws
from hub.api.guard import guarded
from hub.api.models import Scope
from hub.api.openapi import bundle, load_spec

BASE = "/api/v1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below BASE, written as in openapi.yaml
    handler: Handler
    scope: Scope | None


R, C, A, AL = Scope.READ, Scope.CONTROL, Scope.ADMIN, Scope.ALERTS
DEV = "/devices/{id}"
PROP = DEV + "/state/{component}/{capability}/{property}"

ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/health", system.health, None),
    Endpoint("GET", "/openapi.json", system.openapi, None),
    Endpoint("GET", "/metrics", system.metrics, R),
    Endpoint("GET", "/catalog", system.catalog, R),
    Endpoint("GET", "/catalog/{capability}", system.catalog_capability, R),
    Endpoint("GET", "/alert-kinds", system.alert_kinds, R),
    Endpoint("GET", "/devices", devices.list_devices, R),
    Endpoint("GET", DEV, devices.get_device, R),
    Endpoint("GET", DEV + "/state", devices.get_state, R),
    Endpoint("GET", PROP, devices.get_property, R),
    Endpoint("PUT", PROP, devices.put_property, C),
    Endpoint("POST", DEV + "/commands", devices.post_command, C),
    Endpoint("POST", DEV + "/actions/{component}/{capability}/{command}", devices.post_action, C),
    Endpoint("GET", DEV + "/td", devices.get_td, R),
    Endpoint("GET", DEV + "/history", devices.get_history, R),
    Endpoint("GET", "/events", events.list_events, R),
    Endpoint("GET", "/alerts", alerts.list_alerts, R),
    Endpoint("GET", "/alerts/{id}", alerts.get_alert, R),
    Endpoint("POST", "/alerts/{id}/ack", alerts.ack_alert, AL),
    Endpoint("GET", "/subscriptions", subscriptions.list_subscriptions, R),
    Endpoint("POST", "/subscriptions", subscriptions.create_subscription, A),
    Endpoint("POST", "/enrolments", subscriptions.enrol_subscription, A),
    Endpoint("GET", "/subscriptions/{id}", subscriptions.get_subscription, R),
    Endpoint("PUT", "/subscriptions/{id}", subscriptions.update_subscription, A),
    Endpoint("DELETE", "/subscriptions/{id}", subscriptions.delete_subscription, A),
    Endpoint("GET", "/subscriptions/{id}/deliveries", subscriptions.list_deliveries, R),
    Endpoint("POST", "/subscriptions/{id}/deliveries/retry", subscriptions.retry_deliveries, A),
    Endpoint("POST", "/subscriptions/{id}/deliveries/{message_id}/retry", subscriptions.retry_delivery, A),
    Endpoint("GET", "/audit", admin.list_audit, A),
    Endpoint("GET", "/adapters", admin.list_adapters, A),
    Endpoint("GET", "/settings", settings.get_settings, R),
    Endpoint("PUT", "/settings", settings.put_settings, A),
    Endpoint("GET", "/tokens", admin.list_tokens, A),
    Endpoint("POST", "/tokens", admin.create_token, A),
    Endpoint("DELETE", "/tokens/{id}", admin.revoke_token, A),
    # the WebSocket checks its token itself (header or first message); scope here is for the table
    Endpoint("GET", "/ws", ws.websocket, R),
]


def query_parameters(doc: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(method, path) -> names of the query parameters ``openapi.yaml`` declares for it."""
    out: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in doc.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            params = [*shared, *op.get("parameters", [])]
            out[(method.upper(), path)] = frozenset(
                _parameter(doc, p)["name"] for p in params if _parameter(doc, p).get("in") == "query"
            )
    return out


def _parameter(doc: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    ref = param.get("$ref")
    if not isinstance(ref, str):
        return param
    target: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


def only_declared_query(handler: Handler, allowed: frozenset[str]) -> Handler:
    """Refuse query parameters the spec does not declare: a misspelt or unsupported filter must
    not silently return unfiltered data."""

    async def check(request: web.Request) -> web.StreamResponse:
        unknown = sorted(set(request.query) - allowed)
        if unknown:
            raise BadRequest(
                f"unknown query parameter {unknown[0]!r}",
                field=unknown[0],
                expected="one of " + ", ".join(sorted(allowed)) if allowed else "no query parameters",
            )
        return await handler(request)

    return check


def add_routes(app: web.Application) -> None:
    declared = query_parameters(bundle(load_spec()))
    for ep in ENDPOINTS:
        handler = only_declared_query(ep.handler, declared.get((ep.method, ep.path), frozenset()))
        if ep.scope is not None and ep.handler is not ws.websocket:
            handler = guarded(handler, ep.scope)
        app.router.add_route(ep.method, BASE + ep.path, handler)
