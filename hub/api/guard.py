"""Authentication and scope checks for every route (and the WebSocket's auth message).

A failure is counted in ``dhome_auth_failures{reason}``, logged (at most once per address
and reason every 10 s) and, for bad tokens, fed to the per-address limiter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from dhi.errors import Forbidden, HubError, RateLimited, Unauthorized
from hub.api.auth import Principal, bearer_token
from hub.api.context import PRINCIPAL, ApiContext, api
from hub.api.models import Scope
from hub.api.problems import from_error

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOG_INTERVAL = 10.0


class AuthDenied(Exception):
    def __init__(self, error: HubError, headers: dict[str, str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers


class _FailureLog:
    def __init__(self) -> None:
        self._last: dict[tuple[str, str], float] = {}

    def __call__(self, reason: str, address: str, detail: str) -> None:
        now = time.monotonic()
        key = (reason, address)
        if now - self._last.get(key, -1e9) < LOG_INTERVAL:
            return
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = now
        log.warning("API authentication failed from %s: %s", address, detail)


_log_failure = _FailureLog()


def _deny(ctx: ApiContext, reason: str, address: str, error: HubError, headers: dict[str, str]) -> AuthDenied:
    ctx.hub.metrics.auth_failures.labels(reason).inc()
    _log_failure(reason, address, error.message)
    return AuthDenied(error, headers)


async def authorize(ctx: ApiContext, secret: str | None, address: str, scope: Scope) -> Principal:
    """The principal behind ``secret`` if it may use ``scope``; raises ``AuthDenied`` otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer realm="dhome"'}
    if secret is None:
        raise _deny(
            ctx,
            "missing",
            address,
            Unauthorized("this needs a token: Authorization: Bearer <token>"),
            challenge,
        )
    # A valid token is never refused: the lockout is for wrong tokens only, so nobody (a web
    # page posting wrong pairing codes, a neighbour's script) can lock a resident out. Tokens are
    # 256 random bits: the lockout bounds the noise and load of guessing, not its odds.
    principal = await ctx.tokens.verify(secret)
    if principal is None:
        retry = ctx.limiter.retry_after(address)
        if retry is not None:
            seconds = max(1, round(retry + 0.5))
            raise _deny(
                ctx,
                "rate_limited",
                address,
                RateLimited(f"too many failed authentications from {address}; retry in {seconds} s"),
                {"Retry-After": str(seconds)},
            )
        ctx.limiter.record(address)
        raise _deny(
            ctx, "invalid", address, Unauthorized("the token is unknown or revoked"),
            {"WWW-Authenticate": 'Bearer realm="dhome", error="invalid_token"'},
        )  # fmt: skip
    if not principal.allows(scope):
        raise _deny(
            ctx, "scope", address, Forbidden(f"this needs a token with scope {scope.value!r}"),
            {"WWW-Authenticate": f'Bearer realm="dhome", error="insufficient_scope", scope="{scope.value}"'},
        )  # fmt: skip
    return principal


def guarded(handler: Handler, scope: Scope) -> Handler:
    """Wrap a handler so it only runs for a token with ``scope`` (the principal is in ``request[PRINCIPAL]``)."""

    async def check(request: web.Request) -> web.StreamResponse:
        ctx = api(request)
        secret = bearer_token(request.headers.get("Authorization"))
        try:
            request[PRINCIPAL] = await authorize(ctx, secret, request.remote or "-", scope)
        except AuthDenied as denied:
            return from_error(denied.error, request, headers=denied.headers)
        return await handler(request)

    check.__name__ = handler.__name__
    check.__doc__ = handler.__doc__
    return check
