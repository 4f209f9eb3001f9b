"""Admin endpoints: tokens, the audit log, adapters."""

from __future__ import annotations

import orjson
from aiohttp import web

from hub.api.context import api
from hub.api.http import json_response, q_int, read_model
from hub.api.models import (
    AdapterInfo,
    AdapterList,
    AuditEntry,
    AuditPage,
    TokenCreated,
    TokenList,
    TokenRequest,
)


async def list_tokens(request: web.Request) -> web.Response:
    return json_response(TokenList(items=await api(request).tokens.list()))


async def create_token(request: web.Request) -> web.Response:
    """A new token; its secret is in this response and nowhere else."""
    body = await read_model(request, TokenRequest)
    info, secret = await api(request).tokens.create(body.name, body.scopes)
    created = TokenCreated(**info.model_dump(), token=secret)
    return json_response(created, status=201, headers={"Location": f"/api/v1/tokens/{info.id}"})


async def revoke_token(request: web.Request) -> web.Response:
    return json_response(await api(request).revoke_token(request.match_info["id"]))


async def list_audit(request: web.Request) -> web.Response:
    """Every share of data with a platform and every consent change, oldest first."""
    since = q_int(request, "since", 0, 0)
    limit = q_int(request, "limit", 100, 1, 1000)
    storage = api(request).hub.storage
    await storage.flush()
    rows = await storage.fetchall(
        "SELECT seq, time, actor, action, subscription, message_id, detail FROM audit "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        (since, limit),
    )
    items = [
        AuditEntry(
            seq=seq,
            time=time,
            actor=actor,
            action=action,
            subscription=sub,
            message_id=mid,
            detail=_detail(detail),
        )
        for seq, time, actor, action, sub, mid, detail in rows
    ]
    return json_response(AuditPage(items=items, next=items[-1].seq if items else since))


def _detail(raw: str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


async def list_adapters(request: web.Request) -> web.Response:
    hub = api(request).hub
    items = [
        AdapterInfo.model_validate(slot.info() | {"devices": len(hub.registry.of_adapter(name))})
        for name, slot in sorted(hub.supervisor.slots.items())
    ]
    return json_response(AdapterList(items=items))
