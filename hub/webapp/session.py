"""Session cookies for the web app, accepted by the API in place of a bearer token.

A session *is* an API token (name ``session: …``, created when a pairing code is redeemed), so
it has scopes, is listed by ``GET /api/v1/tokens`` and is revoked by ``DELETE /api/v1/tokens/{id}``
like any other. The cookie carries the token's secret (HttpOnly, SameSite=Strict); the CSRF token
is an HMAC of that secret, so it needs no storage and dies with the session.

``session_middleware`` runs for every request to the API: a request with the cookie and no
``Authorization`` header gets the cookie's token as its bearer token, after the CSRF header was
checked for every method that can change state. The WebSocket additionally must come from the
same origin (a browser sends cookies on a cross-site WebSocket handshake).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from dhi.errors import Forbidden
from hub.api.problems import from_error
from hub.api.routes import BASE

COOKIE = "dhome_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PREFIX = "session: "


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"dhome-csrf", hashlib.sha256).hexdigest()


def csrf_ok(request: web.Request, secret: str) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), csrf_token(secret).encode())


def same_origin(request: web.Request, *, strict: bool = False) -> bool:
    """The request comes from the hub's own pages (or from no browser at all). ``strict`` also
    refuses what the browser labels cross-site by Fetch Metadata (``Sec-Fetch-Site``)."""
    if strict and request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser, or a same-origin request the browser did not label
    return urlsplit(origin).netloc == request.host


def session_secret(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value or None


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    secret = session_secret(request)
    if secret is None or "Authorization" in request.headers or not request.path.startswith(BASE + "/"):
        return await handler(request)
    if request.method not in SAFE_METHODS and not csrf_ok(request, secret):
        err = Forbidden(f"a session needs the {CSRF_HEADER} header on every request that changes something")
        return from_error(err, request)
    if not same_origin(request):
        return from_error(Forbidden("a session cookie is only accepted from the hub's own pages"), request)
    headers = request.headers.copy()
    headers["Authorization"] = f"Bearer {secret}"
    return await handler(request.clone(headers=headers))


def set_cookie(response: web.StreamResponse, secret: str, *, secure: bool) -> None:
    # no Max-Age: the session lasts until signed out or revoked, the cookie until the browser closes
    # would log elderly users out too often, so it is kept for a year
    # Secure under TLS: the browser then never sends the session over plain HTTP
    response.set_cookie(
        COOKIE, secret, httponly=True, samesite="Strict", path="/", max_age=365 * 24 * 3600, secure=secure
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
