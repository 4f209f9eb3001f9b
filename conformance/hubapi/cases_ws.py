"""WS and SEC-1.4 cases of the hub target: the WebSocket of spec §13.7 (asyncapi.yaml)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from conformance.hubapi.cases_rest import writable_target
from conformance.hubapi.target import HubRun
from conformance.outcome import Failed, passed, require
from conformance.registry import case
from dhi.models.conformance import Evidence, TargetKind

HUB = TargetKind.HUB
POLICY_VIOLATION = 1008


async def recv_until(
    ws: aiohttp.ClientWebSocketResponse, pred: Callable[[dict[str, Any]], bool], timeout: float
) -> tuple[dict[str, Any] | None, list[Any]]:
    """The first JSON frame matching ``pred`` (None on timeout or close) and everything seen."""
    seen: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (remaining := deadline - loop.time()) > 0:
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError:
            break
        if msg.type is not aiohttp.WSMsgType.TEXT:
            seen.append({"closed": ws.close_code, "type": msg.type.name})
            break
        try:
            frame = json.loads(msg.data)
        except ValueError:
            seen.append(msg.data)
            continue
        seen.append(frame)
        if isinstance(frame, dict) and pred(frame):
            return frame, seen
    return None, seen


def _of(kind: str, req_id: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f.get("type") == kind and (req_id is None or f.get("id") == req_id)


@case("DHI-WS-1.1", "A WebSocket client authenticates with an auth message and subscribes", section="§13.7",
      target=HUB)  # fmt: skip
async def ws_auth_subscribe(ctx: HubRun) -> Evidence:
    read = await ctx.scoped("read")
    async with ctx.http.ws_connect(ctx.ws_url) as ws:
        await ws.send_json({"type": "auth", "token": read})
        ok, seen = await recv_until(ws, _of("auth_ok"), ctx.options.timeout)
        require(ok is not None, "no auth_ok after a valid auth message", got=seen)
        await ws.send_json({"type": "subscribe", "id": "dhi-conf-sub", "filter": {}})
        sub, seen = await recv_until(ws, _of("subscribed", "dhi-conf-sub"), ctx.options.timeout)
        require(sub is not None, "no 'subscribed' answer with the request id", got=seen)
    return passed("auth_ok, subscribed", got=[ok, sub])


@case("DHI-WS-1.2", "A command over the WebSocket gets its result and subscribers see the state change",
      section="§13.7", target=HUB)  # fmt: skip
async def ws_command(ctx: HubRun) -> Evidence:
    device, body = await writable_target(ctx)
    control = await ctx.scoped("control")
    timeout = ctx.options.timeout
    async with ctx.http.ws_connect(ctx.ws_url, headers=ctx.auth(control)) as ws:
        await ws.send_json({"type": "subscribe", "id": "dhi-conf-ws", "filter": {"devices": [device]}})
        sub, seen = await recv_until(ws, _of("subscribed", "dhi-conf-ws"), timeout)
        require(sub is not None, "subscribe was not answered", got=seen)
        request = {
            "type": "command",
            "id": "dhi-conf-ws-cmd",
            "command": {**body, "id": "dhi-conf-ws-1", "device": device},
        }
        await ws.send_json(request)
        result, seen = await recv_until(ws, _of("result", "dhi-conf-ws-cmd"), timeout)
        require(result is not None, "no 'result' frame with the request id", sent=request, got=seen)
        assert result is not None
        require(
            (result.get("result") or {}).get("status") == "ok", "the command failed", sent=request, got=result
        )
        pushed = [f for f in seen if isinstance(f, dict) and f.get("type") == "event"]
        if not pushed:
            event, more = await recv_until(ws, _of("event"), timeout)
            pushed = [event] if event else []
            seen += more
        require(
            bool(pushed),
            "no event was pushed to the subscriber after the state changed",
            sent=request,
            got=seen,
        )
    return passed("result ok and the change pushed", sent=request, got=[result, pushed[0]])


@case("DHI-WS-1.3", "A malformed WebSocket frame gets an error reply and the connection stays usable",
      section="§13.7", target=HUB)  # fmt: skip
async def ws_malformed(ctx: HubRun) -> Evidence:
    read = await ctx.scoped("read")
    async with ctx.http.ws_connect(ctx.ws_url, headers=ctx.auth(read)) as ws:
        await ws.send_str('{"type": "subscribe", "id": 7')
        err, seen = await recv_until(ws, _of("error"), ctx.options.timeout)
        require(
            err is not None,
            "no error reply to a malformed frame",
            sent='{"type": "subscribe", "id": 7',
            got=seen,
        )
        await ws.send_json({"type": "ping", "id": "dhi-conf-ping"})
        pong, seen = await recv_until(ws, _of("pong", "dhi-conf-ping"), ctx.options.timeout)
        require(pong is not None, "the connection did not survive the malformed frame", got=seen)
    return passed("error reply, then pong", got=[err, pong])


@case("DHI-SEC-1.4", "The WebSocket refuses clients that do not authenticate (close 1008)", section="§13.6",
      target=HUB)  # fmt: skip
async def ws_refuses(ctx: HubRun) -> Evidence:
    outcomes = []
    for first in ({"type": "subscribe", "id": "dhi-conf-noauth", "filter": {}},
                  {"type": "auth", "token": "dhk_dhi-conformance-not-a-token"}):  # fmt: skip
        async with ctx.http.ws_connect(ctx.ws_url) as ws:
            await ws.send_json(first)
            answered, seen = await recv_until(
                ws, lambda f: f.get("type") in ("subscribed", "auth_ok"), ctx.options.timeout
            )
            if answered is not None:
                raise Failed("an unauthenticated WebSocket client was served", sent=first, got=seen)
            if ws.close_code != POLICY_VIOLATION:
                raise Failed(
                    f"closed with {ws.close_code}, expected {POLICY_VIOLATION}", sent=first, got=seen
                )
            outcomes.append(seen)
    return passed("closed with 1008 both times", got=outcomes)
