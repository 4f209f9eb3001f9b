"""Home Assistant's WebSocket API: authentication, id'd commands, event subscriptions.

The protocol is small and documented (``auth_required`` -> ``auth`` -> ``auth_ok``; every
command carries an ``id`` echoed by its ``result``; a subscription's events carry the id of
the ``subscribe_events`` command), so it is spoken directly over aiohttp rather than through
a client library pinned to one Home Assistant release.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp
import orjson

log = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]


class ConnectionLost(Exception):
    """The WebSocket could not be opened or closed; pending commands fail with this."""


class AuthFailed(Exception):
    """Home Assistant refused the access token (wrong, revoked or expired)."""


class CommandFailed(Exception):
    """A command's ``result`` said ``success: false``."""

    def __init__(self, command: str, code: str, message: str) -> None:
        super().__init__(f"{command}: {code}: {message}")
        self.command = command
        self.code = code
        self.message = message


class HaConnection:
    """One authenticated session: ``async with HaConnection(url, token) as conn``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        connect_timeout: float = 10.0,
        heartbeat: float | None = 30.0,
        command_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.ha_version: str | None = None
        self._token = token
        self._connect_timeout = connect_timeout
        self._heartbeat = heartbeat
        self._command_timeout = command_timeout
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._subscriptions: dict[int, EventCallback] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed: asyncio.Event = asyncio.Event()
        self.close_reason = ""

    def __repr__(self) -> str:  # never shows the token
        return f"HaConnection({self.url!r}, ha={self.ha_version or '?'})"

    async def __aenter__(self) -> HaConnection:
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
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._connect_timeout):
                self._ws = await self._session.ws_connect(self.url, heartbeat=self._heartbeat, max_msg_size=0)
                hello = await self._receive()
                if hello.get("type") != "auth_required":
                    raise ConnectionLost(
                        f"{self.url} is not Home Assistant's WebSocket API (got {hello.get('type')!r})"
                    )
                await self._send({"type": "auth", "access_token": self._token})
                answer = await self._receive()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ConnectionLost(
                f"cannot connect to Home Assistant at {self.url}: {exc or type(exc).__name__}"
            ) from exc
        if answer.get("type") == "auth_invalid":
            raise AuthFailed(
                f"Home Assistant at {self.url} refused the access token: {answer.get('message', '')} "
                "(create a long-lived access token in the user's profile page)"
            )
        if answer.get("type") != "auth_ok":
            raise ConnectionLost(f"unexpected answer to auth from {self.url}: {answer.get('type')!r}")
        self.ha_version = str(answer.get("ha_version", "")) or None
        self._reader = asyncio.create_task(self._read(), name=f"home-assistant-ws {self.url}")

    async def _send(self, frame: dict[str, Any]) -> None:
        # Home Assistant reads text frames only; a binary frame ends the session
        assert self._ws is not None
        await self._ws.send_str(orjson.dumps(frame).decode())

    async def _receive(self) -> dict[str, Any]:
        assert self._ws is not None
        msg = await self._ws.receive()
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise ConnectionLost(f"{self.url} closed the connection during authentication ({msg.type.name})")
        data = orjson.loads(msg.data)
        if not isinstance(data, dict):
            raise ConnectionLost(f"{self.url} sent a non-object frame during authentication")
        return data

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._finish(self.close_reason or "connection closed by the adapter")

    # ---------------------------------------------------------------- commands

    async def command(self, type_: str, **payload: Any) -> Any:
        """Send one command and return its ``result``; ``CommandFailed`` on ``success: false``."""
        if self._ws is None or self._ws.closed or self.closed.is_set():
            raise ConnectionLost(f"not connected to Home Assistant ({self.close_reason or 'closed'})")
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (type_, fut)
        try:
            await self._send({"id": msg_id, "type": type_, **payload})
            async with asyncio.timeout(self._command_timeout):
                return await fut
        finally:
            self._pending.pop(msg_id, None)

    async def subscribe(self, event_type: str, callback: EventCallback) -> None:
        """Call ``callback(event)`` for every ``event_type`` event (in the reader task)."""
        msg_id = next(self._ids)
        self._subscriptions[msg_id] = callback
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = ("subscribe_events", fut)
        assert self._ws is not None
        try:
            await self._send({"id": msg_id, "type": "subscribe_events", "event_type": event_type})
            async with asyncio.timeout(self._command_timeout):
                await fut
        except BaseException:
            self._subscriptions.pop(msg_id, None)
            raise
        finally:
            self._pending.pop(msg_id, None)

    # ---------------------------------------------------------------- reading

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "Home Assistant closed the connection"
        try:
            async for msg in self._ws:
                if msg.type is aiohttp.WSMsgType.ERROR:
                    reason = f"WebSocket error: {self._ws.exception()}"
                    break
                if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    continue
                try:
                    data = orjson.loads(msg.data)
                except orjson.JSONDecodeError as exc:
                    log.warning("ignoring a malformed frame from %s: %s", self.url, exc)
                    continue
                # Home Assistant may coalesce several messages into one JSON array
                for item in data if isinstance(data, list) else [data]:
                    if isinstance(item, dict):
                        self._dispatch(item)
        finally:
            self.close_reason = self.close_reason or reason
            self._finish(self.close_reason)

    def _dispatch(self, item: dict[str, Any]) -> None:
        kind, msg_id = item.get("type"), item.get("id")
        if kind == "event" and isinstance(msg_id, int):
            callback = self._subscriptions.get(msg_id)
            event = item.get("event")
            if callback is not None and isinstance(event, dict):
                callback(event)
            return
        if kind != "result" or not isinstance(msg_id, int):
            return
        entry = self._pending.get(msg_id)
        if entry is None or entry[1].done():
            return
        command, fut = entry
        if item.get("success"):
            fut.set_result(item.get("result"))
            return
        raw = item.get("error")
        error: dict[str, Any] = raw if isinstance(raw, dict) else {}
        fut.set_exception(
            CommandFailed(command, str(error.get("code", "unknown_error")), str(error.get("message", "")))
        )

    def _finish(self, reason: str) -> None:
        self.closed.set()
        for _, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost(reason))
        self._pending.clear()
