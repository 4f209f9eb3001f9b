"""WebSocket text frames of live messages, built as bytes ready for the socket (RFC 6455 §5.2).

The hub writes these itself, not through aiohttp's writer, so one write built once can go to
every client at the same position (no per-client encode, no str round trip). A server's frames
are not masked; every frame here is a whole text frame (FIN set), so it never interleaves with
the frames aiohttp writes for replies, pings and the close (all written on the event loop).
"""

from __future__ import annotations

import struct

import orjson

_TEXT = 0x81  # FIN + opcode 1 (text)
_LEN16 = struct.Struct("!BBH")
_LEN64 = struct.Struct("!BBQ")


def subscription_id(subscription: str) -> bytes:
    return orjson.dumps(subscription)


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((_TEXT, n)) + payload
    if n < 1 << 16:
        return _LEN16.pack(_TEXT, 126, n) + payload
    return _LEN64.pack(_TEXT, 127, n) + payload


def events_frame(subscription: bytes, messages: list[bytes]) -> bytes:
    """One ``events`` frame; ``subscription`` is the id as JSON, ``messages`` each a JSON envelope."""
    return text_frame(
        b'{"type":"events","subscription":%b,"messages":[%b]}' % (subscription, b",".join(messages))
    )


def event_frames(subscription: bytes, messages: list[bytes]) -> bytes:
    """One ``event`` frame per message, back to back: what a client that did not ask for batches gets."""
    return b"".join(
        text_frame(b'{"type":"event","subscription":%b,"message":%b}' % (subscription, m)) for m in messages
    )


def frames(subscription: bytes, messages: list[bytes], batch: bool, batch_max: int) -> bytes:
    """Messages as the subscription asked for them: ``events`` frames of at most ``batch_max``."""
    if not batch:
        return event_frames(subscription, messages)
    return b"".join(
        events_frame(subscription, messages[i : i + batch_max]) for i in range(0, len(messages), batch_max)
    )
