"""RFC 9457 problem details: every API error is ``application/problem+json``.

Domain errors (``dhi.errors.HubError``) carry their own status and stable ``code``; aiohttp's
own HTTP errors (unknown route, wrong method, body too large) are mapped here; anything else
is a bug, logged with its traceback and answered with a 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from dhi.errors import (
    ERRORS,
    BadRequest,
    HubError,
    InvalidParams,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
)
from dhi.models import ErrorInfo, Problem
from dhi.models.problem import InvalidParam

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://dhome.dev/dhi/v1/errors/"

#: aiohttp HTTP errors -> our error class (same status, stable code)
_HTTP_ERRORS: dict[int, type[HubError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    title: str,
    *,
    code: str | None,
    detail: str | None = None,
    instance: str | None = None,
    invalid: list[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    body = Problem.model_validate(
        {
            "type": f"{TYPE_BASE}{code}" if code else "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "code": code,
            "invalid-params": invalid,
            **extensions,
        }
    )
    return web.Response(
        status=status,
        body=orjson.dumps(body.model_dump(mode="json", by_alias=True, exclude_none=True)),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def from_error(
    err: HubError, request: web.Request, *, headers: dict[str, str] | None = None, **extensions: Any
) -> web.Response:
    invalid = [InvalidParam(name=err.field, reason=err.message)] if err.field else None
    if err.expected and invalid:
        extensions.setdefault("expected", err.expected)
    return problem(
        err.status,
        err.title,
        code=err.code,
        detail=err.message,
        instance=request.path,
        invalid=invalid,
        headers=headers,
        **extensions,
    )


def from_error_info(info: ErrorInfo, request: web.Request, **extensions: Any) -> web.Response:
    """A failed command result as a problem, with the status of its error code."""
    err_cls = ERRORS.get(info.code, HubError)
    invalid = [InvalidParam(name=info.field, reason=info.message)] if info.field else None
    if info.expected and invalid:
        extensions.setdefault("expected", info.expected)
    return problem(
        err_cls.status,
        err_cls.title,
        code=info.code,
        detail=info.message,
        instance=request.path,
        invalid=invalid,
        **extensions,
    )


def from_validation(exc: ValidationError, request: web.Request, where: str = "body") -> web.Response:
    invalid = [
        InvalidParam(name=_loc(where, err["loc"]), reason=err["msg"]) for err in exc.errors(include_url=False)
    ]
    first = invalid[0] if invalid else None
    return problem(
        InvalidParams.status,
        InvalidParams.title,
        code=InvalidParams.code,
        detail=f"{first.name}: {first.reason}" if first else "invalid request body",
        instance=request.path,
        invalid=invalid,
    )


def _loc(where: str, loc: tuple[int | str, ...]) -> str:
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as err:
        return from_error(err, request)
    except ValidationError as exc:
        return from_validation(exc, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err_cls = _HTTP_ERRORS.get(exc.status)
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        return problem(
            exc.status,
            err_cls.title if err_cls else exc.reason,
            code=err_cls.code if err_cls else None,
            detail=exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason,
            instance=request.path,
            headers=headers,
        )
    except ConnectionResetError:
        raise
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return problem(500, "Internal error", code="internal_error", instance=request.path)
