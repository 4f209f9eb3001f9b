"""``GET /api/v1/ws``: live messages with filters, and commands, over one WebSocket.

Delivery: a subscription that asked for ``batch`` gets everything pending as one ``events``
frame (serialised once and shared by the clients that take the same messages), so a client
that reads as fast as it can keeps up at thousands of messages a second; ``coalesce_ms``
also keeps only the latest value per property between sends (dashboards).

Back-pressure: each subscription is a bus subscription with ``Overflow.CLOSE``; publishing
never waits for a client. The bound is in messages (``api.ws_queue``) and in time (the oldest
pending message, ``api.ws_queue_seconds``). A client past its bound is dropped at once with
close code 1013 and the reason, without being sent its backlog first, and its connection is
cut so its unsent data is freed; so is one that does not accept a frame within
``ws_send_timeout``. It may reconnect and resume with ``since``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from dataclasses import dataclass

import orjson
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from dhi.errors import BadRequest, Conflict, Forbidden, HubError, InvalidParams, RateLimited, UpgradeRequired
from hub.api.auth import Principal, bearer_token
from hub.api.context import ApiContext, api
from hub.api.guard import AuthDenied, authorize
from hub.api.models import Scope
from hub.api.problems import from_error
from hub.api.replay import Page
from hub.api.wsproto import (
    CLIENT_MESSAGE,
    AuthOk,
    AuthRequest,
    CloseCode,
    CommandMessage,
    CommandResultReply,
    ErrorReply,
    PingRequest,
    Pong,
    Subscribed,
    SubscribeRequest,
    Unsubscribed,
    UnsubscribeRequest,
)
from hub.bus import Envelope, Filter, Overflow, Subscription, SubscriptionClosed

log = logging.getLogger(__name__)

_conn_ids = itertools.count(1)
#: a WebSocket close reason is at most 123 bytes (RFC 6455 §5.5)
MAX_REASON = 123


class _Dropped(Exception):
    """The connection was dropped; stop whatever was being sent."""


STATE_CHANGED = "org.dhi.v1.state.changed"


def property_key(msg: Envelope) -> tuple[str, str, str, str] | None:
    """What a coalescing subscription keeps one value of: a property of a device. Alerts,
    availability and every other message are never coalesced (``None``)."""
    if msg.type != STATE_CHANGED:
        return None
    d = msg.data
    return (msg.subject, d.component, d.capability, d.property)


@dataclass
class _Stream:
    sub: Subscription
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class _Mode:
    """How one subscription is delivered."""

    id: str
    batch: bool
    #: seconds between sends of a coalescing subscription
    interval: float | None


async def websocket(request: web.Request) -> web.StreamResponse:
    ctx = api(request)
    address = request.remote or "-"
    secret = bearer_token(request.headers.get("Authorization"))
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    principal: Principal | None = None
    if secret is not None or not upgrade:
        try:
            principal = await authorize(ctx, secret, address, Scope.READ)
        except AuthDenied as denied:
            return from_error(denied.error, request, headers=denied.headers)
    if not upgrade:
        err = UpgradeRequired("this endpoint speaks WebSocket only (see asyncapi.yaml)")
        return from_error(err, request, headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    ws = web.WebSocketResponse(
        heartbeat=30.0,
        compress=False,
        max_msg_size=ctx.settings.max_body,
        timeout=ctx.settings.ws_close_timeout,
    )
    if not ws.can_prepare(request).ok:
        raise BadRequest("not a valid WebSocket handshake")
    await ws.prepare(request)
    await WsConnection(ctx, request, ws, principal).run()
    return ws


def _seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms is not None else None


class WsConnection:
    def __init__(
        self, ctx: ApiContext, request: web.Request, ws: web.WebSocketResponse, principal: Principal | None
    ) -> None:
        self.id = next(_conn_ids)
        self._ctx = ctx
        self._ws = ws
        self._transport = request.transport
        self.address = request.remote or "-"
        self.principal = principal
        self._streams: dict[str, _Stream] = {}
        self._commands: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self.dropped: str | None = None

    def __repr__(self) -> str:
        who = self.principal.actor if self.principal else "unauthenticated"
        return f"WsConnection(#{self.id} {self.address} {who}, subscriptions={list(self._streams)})"

    # ------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        ctx = self._ctx
        ctx.sockets.add(self)
        ctx.metrics.ws_clients.inc()
        self._limit_kernel_buffer()
        try:
            if self.principal is None and not await self._authenticate():
                return
            assert self.principal is not None
            scopes = sorted(self.principal.scopes, key=list(Scope).index)
            await self._send_model(AuthOk(scopes=scopes, seq=ctx.hub.bus.seq))
            async for frame in self._ws:
                if frame.type is WSMsgType.TEXT:
                    await self._handle(frame.data)
                elif frame.type is WSMsgType.BINARY:
                    await self._error(None, BadRequest("send JSON in text frames"))
                else:  # ERROR
                    break
        except _Dropped:
            pass
        finally:
            await self._cleanup()

    def _limit_kernel_buffer(self) -> None:
        size = self._ctx.settings.ws_send_buffer
        sock = self._transport.get_extra_info("socket") if self._transport is not None else None
        if size and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    async def _authenticate(self) -> bool:
        timeout = self._ctx.settings.ws_auth_timeout
        try:
            frame = await self._ws.receive(timeout=timeout)
        except TimeoutError:
            await self._close(CloseCode.POLICY, f"no auth message within {timeout:g} s")
            return False
        if frame.type is not WSMsgType.TEXT:
            await self._close(CloseCode.POLICY, 'the first message must be {"type": "auth", "token": ...}')
            return False
        try:
            request = CLIENT_MESSAGE.validate_json(frame.data)
        except ValidationError:
            request = None
        if not isinstance(request, AuthRequest):
            await self._close(CloseCode.POLICY, 'the first message must be {"type": "auth", "token": ...}')
            return False
        try:
            self.principal = await authorize(self._ctx, request.token, self.address, Scope.READ)
        except AuthDenied as denied:
            with contextlib.suppress(_Dropped):
                await self._error(None, denied.error)
            await self._close(CloseCode.POLICY, denied.error.message)
            return False
        return True

    async def _close(self, code: CloseCode, reason: str) -> None:
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            async with asyncio.timeout(self._ctx.settings.ws_close_timeout):
                await self._ws.close(code=code, message=reason.encode("utf-8")[:MAX_REASON])

    async def shutdown(self) -> None:
        """The hub is stopping: say so and close."""
        self._close_streams()
        await self._close(CloseCode.GOING_AWAY, "the hub is shutting down")
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    async def drop(self, reason: str, label: str, code: CloseCode = CloseCode.TRY_AGAIN_LATER) -> None:
        """Disconnect a client (too slow, or its token revoked): from this moment nothing more
        is sent or accepted; never waits on the client for long."""
        if self.dropped is not None:
            return
        self.dropped = reason
        self._ctx.metrics.ws_dropped.labels(label).inc()
        who = self.principal.actor if self.principal else "-"
        log.warning("WebSocket client %s (%s) dropped: %s", self.address, who, reason)
        self._close_streams()
        current = asyncio.current_task()
        for task in self._commands:
            if task is not current:
                task.cancel()
        await self._close(code, reason)
        if self._transport is not None:
            # whatever the client did not read is thrown away, not kept in memory
            self._transport.abort()

    def _close_streams(self) -> None:
        current = asyncio.current_task()
        for stream in self._streams.values():
            stream.sub.close("connection closed")
            self._ctx.metrics.closed(stream.sub)
            if stream.task is not None and stream.task is not current:
                stream.task.cancel()
        self._streams.clear()

    async def _cleanup(self) -> None:
        tasks = [s.task for s in self._streams.values() if s.task is not None] + list(self._commands)
        self._close_streams()
        for task in self._commands:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._ctx.sockets.discard(self)
        self._ctx.metrics.ws_clients.dec()

    # ------------------------------------------------------------ sending
    async def _send(self, data: bytes) -> None:
        if self.dropped is not None:
            raise _Dropped
        timeout = self._ctx.settings.ws_send_timeout
        async with self._lock:
            try:
                async with asyncio.timeout(timeout):
                    await self._ws.send_str(data.decode("utf-8"))
            except TimeoutError:
                await self.drop(f"too slow: a message was not accepted within {timeout:g} s", "send_timeout")
                raise _Dropped from None
            except ConnectionResetError:
                raise _Dropped from None

    async def _send_model(self, model: BaseModel) -> None:
        await self._send(orjson.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True)))

    async def _deliver(self, mode: _Mode, encoded: list[bytes]) -> None:
        """Messages (each already JSON) as one ``events`` frame or as ``event`` frames."""
        if mode.batch:
            await self._send_batch(mode, b",".join(encoded), len(encoded))
            return
        sub_id = orjson.dumps(mode.id)
        for data in encoded:
            await self._send(b'{"type":"event","subscription":%b,"message":%b}' % (sub_id, data))
            self._ctx.hub.metrics.messages_out.labels("ws").inc()

    async def _send_batch(self, mode: _Mode, joined: bytes, count: int) -> None:
        sub_id = orjson.dumps(mode.id)
        await self._send(b'{"type":"events","subscription":%b,"messages":[%b]}' % (sub_id, joined))
        self._ctx.hub.metrics.messages_out.labels("ws").inc(count)

    async def _deliver_live(self, mode: _Mode, msgs: list[Envelope]) -> None:
        if mode.batch:
            await self._send_batch(mode, self._ctx.batches.messages(msgs), len(msgs))
        else:
            await self._deliver(mode, [self._ctx.frames.message(m) for m in msgs])

    async def _error(self, request_id: str | None, err: HubError) -> None:
        await self._send_model(ErrorReply(id=request_id, error=err.info()))

    # ------------------------------------------------------------ requests
    async def _handle(self, text: str) -> None:
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            await self._error(None, BadRequest(f"not valid JSON: {exc}"))
            return
        request_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            request = CLIENT_MESSAGE.validate_python(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = list(err["loc"])
            if loc and isinstance(raw, dict) and loc[0] == raw.get("type"):
                loc = loc[1:]  # the union's tag, not a field
            where = ".".join(str(p) for p in loc)
            await self._error(request_id, InvalidParams(f"{where}: {err['msg']}", field=where or None))
            return
        match request:
            case SubscribeRequest():
                await self._subscribe(request)
            case UnsubscribeRequest():
                await self._unsubscribe(request)
            case CommandMessage():
                await self._command(request)
            case PingRequest():
                await self._send_model(Pong(id=request.id))
            case AuthRequest():
                await self._error(None, BadRequest("already authenticated"))

    async def _subscribe(self, req: SubscribeRequest) -> None:
        if req.id in self._streams:
            await self._error(
                req.id, Conflict(f"subscription {req.id!r} exists; unsubscribe first", field="id")
            )
            return
        cap = self._ctx.settings.ws_max_subscriptions
        if len(self._streams) >= cap:
            await self._error(
                req.id,
                Conflict(
                    f"this connection already has {cap} subscriptions, the most one connection may hold; "
                    "unsubscribe first or combine filters",
                    field="id",
                ),
            )
            return
        f = req.filter
        flt = Filter.of(
            types=[t.value for t in f.types] if f.types else None,
            devices=f.devices,
            capabilities=f.capabilities,
        )
        mode = _Mode(req.id, req.batch or req.coalesce_ms is not None, _seconds(req.coalesce_ms))
        bus = self._ctx.hub.bus
        await self._send_model(Subscribed(id=req.id, seq=bus.seq))
        cursor = 0
        if req.since is not None:
            # stream the log until a page reaches its end, then go live and read what was
            # stored meanwhile (up to the seq the live queue starts after): no gap, no repeat
            cursor = await self._replay(mode, req.since, flt)
        sub = bus.subscribe(
            f"ws:{self.id}:{req.id}",
            flt,
            maxsize=self._ctx.ws_queue,
            overflow=Overflow.CLOSE,
            max_age=self._ctx.ws_queue_seconds + (mode.interval or 0.0),
            coalesce=property_key if mode.interval is not None else None,
        )
        sub.on_overflow = lambda: self._overflowed(req.id, sub)
        stream = self._streams[req.id] = _Stream(sub)
        if req.since is not None:
            cursor = await self._replay(mode, cursor, flt, upto=bus.seq)
        if self._streams.get(req.id) is stream:
            stream.task = asyncio.create_task(
                self._pump(mode, sub, cursor), name=f"dhome-ws-{self.id}-{req.id}"
            )

    async def _replay(self, mode: _Mode, since: int, flt: Filter, upto: int | None = None) -> int:
        """Send stored messages after ``since`` in pages (read and encoded off the event loop);
        returns the cursor: the last seq read."""
        cursor = since
        async for page in self._ctx.replays.pages(since, flt, upto):
            await self._send_page(mode, page)
            cursor = page.cursor
        return cursor

    async def _send_page(self, mode: _Mode, page: Page) -> None:
        frames = [data for _, data in page.frames]
        for i in range(0, len(frames), self._ctx.settings.ws_batch_max):
            await self._deliver(mode, frames[i : i + self._ctx.settings.ws_batch_max])

    def _overflowed(self, sub_id: str, sub: Subscription) -> None:
        """The bus found this client past its bound: drop it now, from a task of its own, so
        neither the publisher nor the other clients wait, and its backlog is never sent."""
        stream = self._streams.get(sub_id)
        if stream is None or stream.sub is not sub or self.dropped is not None:
            return
        reason = f"subscription {sub_id}: queue overflow: {sub.bound}"
        task = asyncio.get_running_loop().create_task(self.drop(reason, "overflow"))
        self._commands.add(task)  # keeps a reference; cleanup waits for it
        task.add_done_callback(self._commands.discard)

    async def _pump(self, mode: _Mode, sub: Subscription, skip_upto: int) -> None:
        limit = self._ctx.settings.ws_batch_max if mode.batch else 1
        try:
            while True:
                try:
                    msgs = await sub.take(limit)
                except SubscriptionClosed:
                    if self._streams.get(mode.id) is not None and self._streams[mode.id].sub is sub:
                        await self.drop(f"subscription {mode.id}: {sub.closed_reason}", "overflow")
                    return
                if msgs[0].seq is not None and msgs[0].seq <= skip_upto:
                    msgs = [m for m in msgs if m.seq is None or m.seq > skip_upto]  # sent by the replay
                    if not msgs:
                        continue
                await self._deliver_live(mode, msgs)
                if mode.interval is not None:
                    await asyncio.sleep(mode.interval)  # meanwhile newer values replace pending ones
        except _Dropped:
            return

    def _end_stream(self, sub_id: str) -> _Stream | None:
        stream = self._streams.pop(sub_id, None)
        if stream is not None:
            stream.sub.close("unsubscribed")
            self._ctx.metrics.closed(stream.sub)
            if stream.task is not None:
                stream.task.cancel()
        return stream

    async def _unsubscribe(self, req: UnsubscribeRequest) -> None:
        if self._end_stream(req.id) is None:
            await self._error(req.id, InvalidParams(f"no subscription {req.id!r}", field="id"))
            return
        await self._send_model(Unsubscribed(id=req.id))

    async def _command(self, req: CommandMessage) -> None:
        assert self.principal is not None
        if not self.principal.allows(Scope.CONTROL):
            self._ctx.hub.metrics.auth_failures.labels("scope").inc()
            await self._error(req.id, Forbidden("commands need a token with scope 'control'"))
            return
        if len(self._commands) >= self._ctx.settings.ws_max_commands:
            await self._error(req.id, RateLimited(f"more than {len(self._commands)} commands in flight"))
            return
        task = asyncio.create_task(self._execute(req), name=f"dhome-ws-{self.id}-cmd-{req.id}")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def _execute(self, req: CommandMessage) -> None:
        result = await self._ctx.hub.execute(req.command)
        with contextlib.suppress(_Dropped):
            await self._send_model(CommandResultReply(id=req.id, result=result))
