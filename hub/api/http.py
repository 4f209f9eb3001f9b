"""Small helpers shared by the REST handlers: typed query parameters, JSON bodies, responses.

Each query helper enforces exactly what the parameter's schema in ``openapi.yaml`` says, so a
value the spec forbids is a 400 ``bad_request`` naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from dhi.errors import BadRequest, InvalidDocument, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

JSON = "application/json"
_REQUIRED: Any = object()
MAX_INT = 2**63 - 1
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    data = (
        body.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(body, BaseModel)
        else body
    )
    return web.Response(status=status, body=orjson.dumps(data), content_type=JSON, headers=headers)


async def read_json(request: web.Request, default: Any = _REQUIRED) -> Any:
    """The body as JSON; 415 for another media type, 400 when malformed (or missing, unless ``default``)."""
    raw = await request.read()
    if not raw:
        if default is _REQUIRED:
            raise InvalidDocument("the request needs a JSON body", field="body", expected="a JSON document")
        return default
    ctype = request.content_type
    if ctype not in (JSON, "application/octet-stream") and not ctype.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as {JSON}, not {ctype}", field="Content-Type")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidDocument(f"the body is not valid JSON: {exc}", field="body") from None


async def read_model[M: BaseModel](request: web.Request, model: type[M]) -> M:
    """Parse and validate the body (a ``pydantic.ValidationError`` becomes a 422 problem)."""
    data = await read_json(request)
    return model.model_validate(data)


def _one(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise BadRequest(f"query parameter {name!r} given {len(values)} times", field=name)
    return values[0] if values else None


def q_int(request: web.Request, name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = _one(request, name)
    if raw is None:
        return default
    if not re.fullmatch(r"[+-]?\d{1,100}", raw):
        raise BadRequest(f"query parameter {name!r} must be an integer", field=name, expected="integer")
    value = int(raw)
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise BadRequest(f"query parameter {name!r} is outside {rng}", field=name, expected=rng)
    # an unbounded cursor past anything SQLite can hold simply means "after everything"
    return min(value, MAX_INT)


def q_str(
    request: web.Request,
    name: str,
    model: type[RootModel[Any]] | None = None,
    max_length: int = 200,
    min_length: int = 0,
) -> Any:
    """A string parameter, validated by ``model`` (the same check as in the body schemas)."""
    raw = _one(request, name)
    if raw is None:
        return None
    return _check(name, raw, model, max_length, min_length)


def q_list(
    request: web.Request,
    name: str,
    model: type[RootModel[Any]] | None = None,
    *,
    max_items: int = 20,
    max_length: int = 200,
    min_length: int = 0,
) -> list[Any]:
    values = request.query.getall(name, [])
    if len(values) > max_items:
        raise BadRequest(f"query parameter {name!r} given more than {max_items} times", field=name)
    return [_check(name, v, model, max_length, min_length) for v in values]


def _check(name: str, raw: str, model: type[RootModel[Any]] | None, max_length: int, min_length: int) -> Any:
    if not min_length <= len(raw) <= max_length:
        raise BadRequest(
            f"query parameter {name!r} must be {min_length} to {max_length} characters long",
            field=name,
            expected=f"{min_length}..{max_length} characters",
        )
    if model is None:
        return raw
    try:
        return model.model_validate(raw).root
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"]
        raise BadRequest(f"query parameter {name!r}: {reason}", field=name, expected=model.__doc__) from None


def q_time(request: web.Request, name: str) -> datetime | None:
    raw = _one(request, name)
    if raw is None:
        return None
    when = parse_rfc3339(raw)
    if when is None:
        raise BadRequest(
            f"query parameter {name!r} is not an RFC 3339 date-time",
            field=name,
            expected="e.g. 2025-01-31T08:00:00Z",
        )
    return when


def parse_rfc3339(raw: str) -> datetime | None:
    """RFC 3339 ``date-time`` (any case, ``Z`` or offset, leap second clamped); ``None`` if malformed."""
    m = _RFC3339.match(raw)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8).upper()
    # valid RFC 3339 that Python cannot represent: a leap second, the year 0
    second = min(second, 59)
    year = max(year, 1)
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{frac[:7]}"
    try:
        when = datetime.fromisoformat(text + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    try:
        return when.astimezone(UTC)
    except OverflowError:  # the offset pushes it past year 1 or 9999
        return (datetime.min if year < 5000 else datetime.max).replace(tzinfo=UTC)
