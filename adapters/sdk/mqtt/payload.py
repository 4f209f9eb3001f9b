"""Decoding vendor payloads with precise reasons (byte offset, line/column)."""

from __future__ import annotations

from typing import Any

import orjson


class PayloadError(ValueError):
    """A payload is not what the protocol says it must be; the message says exactly why."""


def decode_text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 (byte {exc.start}: {exc.reason})") from None


def decode_json(payload: bytes) -> Any:
    """Parse RFC 8259 JSON (no NaN/Infinity); errors name the position."""
    if not payload.strip():
        raise PayloadError("payload is empty; expected JSON")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"payload is not valid JSON: {exc}") from None


def decode_json_object(payload: bytes) -> dict[str, Any]:
    value = decode_json(payload)
    if not isinstance(value, dict):
        raise PayloadError(f"payload must be a JSON object, got {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def encode_json(value: Any) -> bytes:
    return orjson.dumps(value)
