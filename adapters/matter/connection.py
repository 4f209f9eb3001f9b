"""The connection shell: one WebSocket session to a Matter Server, plus reconnect with backoff.

Why not python-matter-server's ``MatterClient``: the adapter's mapping tables work on the
raw ``"<endpoint>/<cluster>/<attribute>"`` paths and JSON values the server sends, which
``MatterClient`` would first turn into CHIP SDK cluster objects (a large import and a tight
version lock between client library and server); ``MatterClient`` also leaves reconnecting
to its user. The protocol is small and documented, and matterjs-server speaks it too, so
this module talks it directly over aiohttp: typed, with futures keyed by message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from adapters.matter.protocol import (
    REQUIRED_SCHEMA,
    Command,
    CommandFailed,
    EventMessage,
    ProtocolError,
    ResultMessage,
    ServerInfo,
    UnsupportedSchema,
    parse_message,
)

log = logging.getLogger(__name__)


class ConnectionLost(Exception):
    """The WebSocket closed or failed; pending commands fail with this."""


class NotConnected(Exception):
    """A command was sent while no session to the Matter server is up."""


@dataclass
class Backoff:
    """Exponential reconnect delay with jitter; ``reset()`` after a session that came up."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.1
    _failures: int = 0

    def next_delay(self, rand: Callable[[], float] = random.random) -> float:
        base = min(self.maximum, self.initial * self.factor**self._failures)
        self._failures += 1
        # jitter spreads many hubs reconnecting to one server after an outage
        return base * (1 - self.jitter + 2 * self.jitter * rand())

    def reset(self) -> None:
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures


_END = object()


class MatterConnection:
    """One session: ``async with MatterConnection(url) as conn: nodes = await conn.start_listening()``.

    The server info is read and its schema checked before ``__aenter__`` returns; an
    unsupported schema raises :class:`UnsupportedSchema`, an unreachable server
    :class:`ConnectionLost`.
    """

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        required_schema: int = REQUIRED_SCHEMA,
        connect_timeout: float = 10.0,
        heartbeat: float | None = 30.0,
    ) -> None:
        self.url = url
        self.server_info: ServerInfo | None = None
        self._own_session = session is None
        self._session = session
        self._required = required_schema
        self._connect_timeout = connect_timeout
        self._heartbeat = heartbeat
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._closed_reason: str | None = None

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        schema = f", schema {self.server_info.schema_version}" if self.server_info else ""
        return f"MatterConnection({self.url!r}, {state}{schema})"

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and self._reader is not None

    async def __aenter__(self) -> MatterConnection:
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._connect_timeout):
                self._ws = await self._session.ws_connect(self.url, heartbeat=self._heartbeat, max_msg_size=0)
                first = await self._ws.receive()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ConnectionLost(
                f"cannot connect to Matter server at {self.url}: {exc or type(exc).__name__}"
            ) from exc
        if first.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionLost(
                f"Matter server at {self.url} closed before sending its info ({first.type.name})"
            )
        try:
            info = ServerInfo.parse(orjson.loads(first.data))
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(f"server info is not JSON: {exc}") from exc
        info.check(self._required)
        self.server_info = info
        self._reader = asyncio.create_task(self._read(), name=f"matter-ws-reader {self.url}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        self._fail_pending(self._closed_reason or "connection closed by the adapter")
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    # ---------------------------------------------------------------- reading
    async def _read(self) -> None:
        assert self._ws is not None
        reason = "Matter server closed the connection"
        try:
            async for msg in self._ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    if msg.type is aiohttp.WSMsgType.ERROR:
                        reason = f"WebSocket error: {self._ws.exception()}"
                        break
                    continue
                try:
                    parsed = parse_message(orjson.loads(msg.data))
                except (orjson.JSONDecodeError, ProtocolError) as exc:
                    # one bad frame is the server's bug, not a reason to drop the session
                    log.warning("ignoring malformed message from %s: %s", self.url, exc)
                    continue
                if isinstance(parsed, EventMessage):
                    self._events.put_nowait(parsed)
                else:
                    self._resolve(parsed)
        finally:
            self._closed_reason = reason
            self._fail_pending(reason)
            self._events.put_nowait(_END)

    def _resolve(self, msg: ResultMessage) -> None:
        entry = self._pending.pop(msg.message_id, None)
        if entry is None:
            log.debug("result for unknown message id %s", msg.message_id)
            return
        command, fut = entry
        if fut.done():
            return
        if msg.error_code is not None:
            fut.set_exception(CommandFailed(command, msg.error_code, msg.details))
        else:
            fut.set_result(msg.result)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for command, fut in pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost(f"{command}: {reason}"))

    async def events(self) -> AsyncIterator[EventMessage]:
        """Server events in arrival order; ends by raising :class:`ConnectionLost`."""
        while True:
            item = await self._events.get()
            if item is _END:
                raise ConnectionLost(self._closed_reason or "connection closed")
            assert isinstance(item, EventMessage)
            yield item

    # ---------------------------------------------------------------- commands
    async def command(self, command: str, *, timeout: float | None = None, **args: Any) -> Any:
        """Send one command and await its result; server errors raise :class:`CommandFailed`."""
        if not self.connected or self._ws is None:
            raise NotConnected(f"not connected to the Matter server at {self.url}")
        msg_id = str(next(self._ids))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (command, fut)
        try:
            payload = orjson.dumps({"message_id": msg_id, "command": command, "args": args}).decode()
            await self._ws.send_str(payload)
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            self._pending.pop(msg_id, None)

    async def start_listening(self) -> list[dict[str, Any]]:
        nodes = await self.command(Command.START_LISTENING)
        if not isinstance(nodes, list):
            raise ProtocolError(f"start_listening returned {type(nodes).__name__}, expected a list of nodes")
        return nodes


class MatterClient:
    """Keeps a session up: connect, ``start_listening``, hand nodes and events over, and on
    loss reconnect with backoff. An unsupported schema is not retried: it is raised."""

    def __init__(
        self,
        url: str,
        *,
        on_nodes: Callable[[list[dict[str, Any]]], Awaitable[None]],
        on_event: Callable[[EventMessage], Awaitable[None]],
        on_lost: Callable[[str], Awaitable[None]],
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.url = url
        self._on_nodes = on_nodes
        self._on_event = on_event
        self._on_lost = on_lost
        self.backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
        self._log = logger or log
        self._conn: MatterConnection | None = None
        self._ready = asyncio.Event()
        self.sessions = 0

    def __repr__(self) -> str:
        return f"MatterClient({self.url!r}, sessions={self.sessions}, {'up' if self.connected else 'down'})"

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.connected

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def command(self, command: str, *, timeout: float | None = None, **args: Any) -> Any:
        conn = self._conn
        if conn is None or not conn.connected:
            raise NotConnected(f"not connected to the Matter server at {self.url}")
        return await conn.command(command, timeout=timeout, **args)

    async def run(self) -> None:
        while True:
            reason = "connection closed"
            try:
                async with MatterConnection(self.url, connect_timeout=self._connect_timeout) as conn:
                    nodes = await conn.start_listening()
                    self._conn = conn
                    self.sessions += 1
                    self.backoff.reset()
                    self._log.info("connected to Matter server %s (%d nodes)", self.url, len(nodes))
                    await self._on_nodes(nodes)
                    self._ready.set()
                    async for event in conn.events():
                        await self._on_event(event)
            except (ConnectionLost, NotConnected, ProtocolError, CommandFailed) as exc:
                reason = str(exc)
            except UnsupportedSchema:
                raise
            finally:
                self._conn = None
                self._ready.clear()
            delay = self.backoff.next_delay()
            self._log.warning("Matter server %s: %s; reconnecting in %.1f s", self.url, reason, delay)
            await self._on_lost(reason)
            await asyncio.sleep(delay)
