"""``GET /api/v1/ws``: live messages with filters, and commands, over one WebSocket.

Delivery (``hub.api.fanout``): the messages of each distinct filter are kept, encoded once, in
a bounded log shared by every subscription with that filter; a subscription is a position in
it. At most every ``ws_tick`` seconds, whatever is pending for a client whose socket has taken
what it was given goes out in one write: ``events`` frames (``batch``), or one ``event`` frame
per message (clients that did not ask for batches), built once for every client at the same
position. ``coalesce_ms`` sends only the latest value per property, at most that often.

Back-pressure: a client whose socket takes what it is given keeps up. One whose socket stays
full is held to its bound: ``api.ws_queue`` messages arriving meanwhile, its oldest pending
message ``api.ws_queue_seconds`` old, nothing accepted for ``ws_send_timeout``. Past it, it is
dropped at the next round with close code 1013 and the reason, without being sent its backlog,
and its connection is cut so its unsent data is freed. A coalescing client is never behind on
values (it gets the latest ones); it is dropped only if more alerts and other uncoalesced
messages than the hub keeps are pending. It may reconnect and resume with ``since``.
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
from hub.api.fanout import Feed, Reader
from hub.api.guard import AuthDenied, authorize
from hub.api.models import Scope
from hub.api.problems import from_error
from hub.api.replay import Page
from hub.api.wsframe import frames, subscription_id, text_frame
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
from hub.bus import Filter

log = logging.getLogger(__name__)

_conn_ids = itertools.count(1)
#: a WebSocket close reason is at most 123 bytes (RFC 6455 §5.5)
MAX_REASON = 123


class _Dropped(Exception):
    """The connection was dropped; stop whatever was being sent."""


@dataclass(eq=False)
class _Stream:
    """A subscription: the feed it holds, and once live its reader."""

    feed: Feed
    reader: Reader | None = None


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
        # permessage-deflate when the client offers it (browsers do): frames are compressed
        # once and shared like plain ones (hub.api.wsframe)
        compress=ctx.settings.ws_deflate,
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
        for sub_id in list(self._streams):
            self._end_stream(sub_id)

    async def _cleanup(self) -> None:
        tasks = list(self._commands)
        self._close_streams()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._ctx.sockets.discard(self)
        self._ctx.metrics.ws_clients.dec()

    # ------------------------------------------------------------ sending
    async def _send(self, data: bytes) -> None:
        """A reply: a plain frame, after whatever the socket was given before it."""
        await self._write(text_frame(data), 0)

    async def _send_model(self, model: BaseModel) -> None:
        await self._send(orjson.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True)))

    # the fan-out's sink (``hub.api.fanout.Sink``): live messages are written as ready frames
    def writable(self) -> bool:
        t = self._transport
        return (
            self.dropped is None
            and t is not None
            and not t.is_closing()
            and not self._ws.closed
            and t.get_write_buffer_size() <= self._ctx.settings.ws_write_limit
        )

    @property
    def deflate(self) -> int:
        """The negotiated permessage-deflate window (bits), 0 without compression."""
        bits = self._ws.compress
        return bits if type(bits) is int and 9 <= bits <= 15 else 0

    def write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    async def _write(self, data: bytes, count: int) -> None:
        """Write ready frames (a replay page) once the socket has taken what it had."""
        loop = asyncio.get_running_loop()
        timeout = self._ctx.settings.ws_send_timeout
        since = loop.time()
        while not self.writable():
            t = self._transport
            if self.dropped is not None or t is None or t.is_closing() or self._ws.closed:
                raise _Dropped
            if loop.time() - since > timeout:
                await self.drop(f"too slow: nothing was accepted within {timeout:g} s", "send_timeout")
                raise _Dropped
            await asyncio.sleep(self._ctx.settings.ws_tick)
        self.write(data)
        self._ctx.hub.metrics.messages_out.labels("ws").inc(count)

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
        fanout = self._ctx.fanout
        stream = self._streams[req.id] = _Stream(fanout.acquire(flt))
        # live messages follow this seq, and start at this position of the feed
        seq, position = self._ctx.hub.bus.seq, stream.feed.head
        await self._send_model(Subscribed(id=req.id, seq=seq))
        if req.since is not None:
            position = await self._replay(mode, req.since, stream.feed)
        if self._streams.get(req.id) is not stream or self.dropped is not None:
            return  # ended while it was replaying
        stream.reader = Reader(
            req.id,
            self,
            batch=mode.batch,
            interval=mode.interval,
            bound=self._ctx.ws_queue,
            max_age=self._ctx.ws_queue_seconds,
            send_timeout=self._ctx.settings.ws_send_timeout,
            on_overflow=lambda reason, label: self._overflowed(req.id, reason, label),
        )
        fanout.attach(stream.feed, stream.reader, position)

    async def _replay(self, mode: _Mode, since: int, feed: Feed) -> int:
        """Send stored messages after ``since`` in pages (read and encoded off the event loop)
        until the feed holds everything after what was read; returns the feed position to go
        live at. Each round reads up to the bus's seq at its start (the log is flushed first),
        so nothing is missed and nothing repeated between the log and the feed."""
        cursor = since
        while True:
            mark = self._ctx.hub.bus.seq
            async for page in self._ctx.replays.pages(cursor, feed.filter, upto=mark):
                await self._send_page(mode, page)
            cursor = max(cursor, mark)
            if feed.complete_after <= cursor:
                return feed.index_after(cursor)
            # the feed was trimmed past it meanwhile (a long replay on a busy hub): read on

    async def _send_page(self, mode: _Mode, page: Page) -> None:
        if page.frames:
            messages = [data for _, data in page.frames]
            batch_max = self._ctx.settings.ws_batch_max
            await self._write(
                frames(subscription_id(mode.id), messages, mode.batch, batch_max), len(messages)
            )

    def _overflowed(self, sub_id: str, reason: str, label: str) -> None:
        """The fan-out found this client past its bound: drop it now, from a task of its own,
        so neither the tick nor the other clients wait, and its backlog is never sent."""
        if sub_id not in self._streams or self.dropped is not None:
            return
        task = asyncio.get_running_loop().create_task(self.drop(reason, label))
        self._commands.add(task)  # keeps a reference; cleanup waits for it
        task.add_done_callback(self._commands.discard)

    def _end_stream(self, sub_id: str) -> _Stream | None:
        stream = self._streams.pop(sub_id, None)
        if stream is not None:
            if stream.reader is not None:
                self._ctx.fanout.detach(stream.reader)
            self._ctx.fanout.release(stream.feed)
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
