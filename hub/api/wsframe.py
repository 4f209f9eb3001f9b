"""WebSocket text frames, built as bytes ready for the socket (RFC 6455 §5.2, RFC 7692).

The hub writes its data frames itself, not through aiohttp's writer, so one write built once
can go to every client at the same position (no per-client encode, no str round trip). A
server's frames are not masked; every frame here is a whole text frame (FIN set), so it never
interleaves with the control frames aiohttp writes (ping, pong, close; all on the event loop).

Compression (``permessage-deflate``, which browsers offer): a message is compressed on its own,
with a fresh compressor (the server never takes its context over), so one compressed frame is
as shareable as a plain one; ``deflate`` is the negotiated window (bits), 0 when the client did
not ask. Small replies go uncompressed (RSV1 clear), which the extension allows per message.
"""

from __future__ import annotations

import struct
import zlib

import orjson

_TEXT = 0x81  # FIN + opcode 1 (text)
_RSV1 = 0x40  # "per-message compressed" (RFC 7692 §6)
_LEN16 = struct.Struct("!BBH")
_LEN64 = struct.Struct("!BBQ")
#: the empty stored block a sync flush ends with, which the receiver adds back (RFC 7692 §7.2.1)
_TAIL = b"\x00\x00\xff\xff"
#: below this a message is not worth compressing
MIN_DEFLATE = 256


def subscription_id(subscription: str) -> bytes:
    return orjson.dumps(subscription)


def text_frame(payload: bytes, deflate: int = 0) -> bytes:
    first = _TEXT
    if deflate and len(payload) >= MIN_DEFLATE:
        c = zlib.compressobj(1, zlib.DEFLATED, -deflate)
        payload = (c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)).removesuffix(_TAIL)
        first |= _RSV1
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 1 << 16:
        return _LEN16.pack(first, 126, n) + payload
    return _LEN64.pack(first, 127, n) + payload


def events_frame(subscription: bytes, messages: list[bytes], deflate: int = 0) -> bytes:
    """One ``events`` frame; ``subscription`` is the id as JSON, ``messages`` each a JSON envelope."""
    return text_frame(
        b'{"type":"events","subscription":%b,"messages":[%b]}' % (subscription, b",".join(messages)), deflate
    )


def event_frames(subscription: bytes, messages: list[bytes], deflate: int = 0) -> bytes:
    """One ``event`` frame per message, back to back: what a client that did not ask for batches gets."""
    return b"".join(
        text_frame(b'{"type":"event","subscription":%b,"message":%b}' % (subscription, m), deflate)
        for m in messages
    )


def frames(
    subscription: bytes, messages: list[bytes], batch: bool, batch_max: int, deflate: int = 0
) -> bytes:
    """Messages as the subscription asked for them: ``events`` frames of at most ``batch_max``."""
    if not batch:
        return event_frames(subscription, messages, deflate)
    return b"".join(
        events_frame(subscription, messages[i : i + batch_max], deflate)
        for i in range(0, len(messages), batch_max)
    )
