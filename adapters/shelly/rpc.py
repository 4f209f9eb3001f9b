"""Shelly Gen2 JSON-RPC over MQTT: frames and a request/response client.

Requests go to ``<prefix>/rpc`` as ``{"id", "src", "method", "params"}``; the device answers
on ``<src>/rpc`` with ``{"id", "src", "dst", "result"}`` or ``{..., "error": {"code",
"message"}}``. Notifications arrive on ``<prefix>/events/rpc`` as ``{"src", "dst", "method",
"params"}`` (NotifyStatus, NotifyFullStatus, NotifyEvent).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.sdk.mqtt import (
    MqttConnection,
    MqttMessage,
    PayloadError,
    decode_json_object,
    encode_json,
    json_type,
)

NOTIFY_METHODS = ("NotifyStatus", "NotifyFullStatus", "NotifyEvent")


@dataclass(frozen=True)
class Notification:
    src: str | None
    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    id: int
    result: Any
    error: tuple[Any, Any] | None  # (code, message)


def parse_notification(payload: bytes) -> Notification:
    frame = decode_json_object(payload)
    method = frame.get("method")
    if method not in NOTIFY_METHODS:
        raise PayloadError(
            f"method: {method!r} is not a notification (expected one of {', '.join(NOTIFY_METHODS)})"
        )
    params = frame.get("params")
    if not isinstance(params, dict):
        raise PayloadError(f"params: must be an object, got {json_type(params)}")
    src = frame.get("src")
    if method == "NotifyEvent" and not isinstance(params.get("events"), list):
        raise PayloadError(f"params.events: must be an array, got {json_type(params.get('events'))}")
    return Notification(src if isinstance(src, str) else None, method, params)


def parse_reply(payload: bytes) -> Reply:
    frame = decode_json_object(payload)
    rid = frame.get("id")
    if not isinstance(rid, int) or isinstance(rid, bool):
        raise PayloadError(f"id: must be an integer, got {json_type(rid)}")
    err = frame.get("error")
    if err is not None:
        if not isinstance(err, dict) or "code" not in err:
            raise PayloadError("error: must be an object with 'code' and 'message'")
        return Reply(rid, None, (err.get("code"), err.get("message")))
    if "result" not in frame:
        raise PayloadError("a reply needs 'result' or 'error'")
    return Reply(rid, frame["result"], None)


class RpcError(Exception):
    def __init__(self, code: Any, message: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RpcClient:
    """Calls methods on devices and matches replies by id (futures keyed by request id)."""

    def __init__(
        self, conn: MqttConnection, src: str, on_invalid: Callable[[MqttMessage, str], None]
    ) -> None:
        self.conn = conn
        self.src = src
        self._on_invalid = on_invalid
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}

    @property
    def reply_topic(self) -> str:
        return f"{self.src}/rpc"

    async def call(
        self, prefix: str, method: str, params: dict[str, Any] | None = None, *, wait: float
    ) -> Any:
        """The ``result`` of ``method``; ``RpcError`` for an error reply, ``TimeoutError``."""
        rid = next(self._ids)
        frame: dict[str, Any] = {"id": rid, "src": self.src, "method": method}
        if params is not None:
            frame["params"] = params
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            async with asyncio.timeout(wait):
                await self.conn.publish(f"{prefix}/rpc", encode_json(frame))
                return await fut
        finally:
            self._pending.pop(rid, None)

    def on_reply(self, msg: MqttMessage) -> None:
        try:
            reply = parse_reply(msg.payload)
        except PayloadError as exc:
            self._on_invalid(msg, str(exc))
            return
        fut = self._pending.get(reply.id)
        if fut is None or fut.done():
            return  # late reply after a timeout
        if reply.error is not None:
            fut.set_exception(RpcError(*reply.error))
        else:
            fut.set_result(reply.result)

    def cancel_all(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()
