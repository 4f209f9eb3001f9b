"""Parsing DHI-MQTT payloads into the DHI models, with precise reasons.

What a description or report must satisfy is decided by ``dhi.checks`` (the one checker the
hub, conformance and test doubles share); this module only reads the bytes.

Every failure is an ``Invalid`` naming the field (a JSON path inside the payload) and what
was expected, so ``ctx.report_invalid`` tells a device maker exactly what to fix.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.sdk.mqtt import PayloadError, decode_json_object
from dhi.errors import HubError

_MAX_ERRORS = 3


class Invalid(Exception):
    def __init__(self, reason: str, *, field: str | None = None, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.expected = expected

    def __str__(self) -> str:
        # hub errors often start with the field already ("properties.on has the wrong type")
        named = self.field and self.reason.startswith((f"{self.field}:", f"{self.field} "))
        where = f"{self.field}: " if self.field and not named else ""
        want = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{self.reason}{want}"

    @classmethod
    def from_hub(cls, exc: HubError) -> Invalid:
        return cls(exc.message, field=exc.field, expected=exc.expected)


def json_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def describe(exc: ValidationError) -> Invalid:
    """The first errors of a pydantic failure as one precise reason."""
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors[:_MAX_ERRORS]:
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"]
        parts.append(f"{json_path(tuple(err['loc']))}: {msg}")
    if len(errors) > _MAX_ERRORS:
        parts.append(f"(+{len(errors) - _MAX_ERRORS} more errors)")
    first = errors[0] if errors else None
    return Invalid("; ".join(parts), field=json_path(tuple(first["loc"])) if first else None)


def parse[M: BaseModel](model: type[M], payload: bytes) -> M:
    try:
        data = decode_json_object(payload)
    except PayloadError as exc:
        raise Invalid(str(exc), expected=f"a JSON {model.__name__} object") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe(exc) from None


def shown(payload: bytes, limit: int = 200) -> Any:
    """A payload as it goes into an invalid-message report: text when it is text."""
    try:
        text = payload[:limit].decode("utf-8")
    except UnicodeDecodeError:
        return payload[:limit]
    return text + ("…" if len(payload) > limit else "")
