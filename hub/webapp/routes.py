"""Pages, static files and the sign-in endpoints of the web app (added to the API's app).

Every page is the same HTML shell (the router in ``app.js`` picks the view), served only with a
valid session: without one it redirects to ``/signin``. ``/session`` redeems a pairing code
(``POST``), tells the page its CSRF token (``GET``) and signs out (``DELETE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from dhi.errors import Forbidden, InvalidParams, RateLimited, Unauthorized
from hub.api.auth import Principal
from hub.api.context import API, ApiContext
from hub.api.http import json_response, read_json
from hub.api.problems import from_error
from hub.webapp.pairing import PairingCodes
from hub.webapp.session import (
    SESSION_PREFIX,
    clear_cookie,
    csrf_ok,
    csrf_token,
    same_origin,
    session_middleware,
    session_secret,
    set_cookie,
)

STATIC = Path(__file__).parent / "static"
PAIRING: web.AppKey[PairingCodes] = web.AppKey("dhome_pairing", PairingCodes)

#: the pages of the app (paths the router in app.js knows)
PAGES = ("/", "/alerts", "/sharing", "/settings", "/devices/{id}")

#: sent with every HTML page: nothing from elsewhere, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def wall_clock() -> datetime:
    # pairing codes expire in real time even when the hub's clock runs fast (simulations)
    return datetime.now(UTC)


@dataclass(frozen=True)
class PairRequest:
    code: str
    label: str

    @classmethod
    def parse(cls, data: object) -> PairRequest:
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            raise InvalidParams('send {"code": "1234-5678"}', field="code", expected="the pairing code")
        label = data.get("label", "browser")
        if not isinstance(label, str) or not 1 <= len(label) <= 60:
            raise InvalidParams("label must be 1 to 60 characters", field="label")
        return cls(code=data["code"][:40], label=label)


async def _principal(ctx: ApiContext, request: web.Request) -> tuple[str, Principal] | None:
    secret = session_secret(request)
    if secret is None:
        return None
    principal = await ctx.tokens.verify(secret)
    return (secret, principal) if principal is not None else None


def _page(name: str) -> web.Response:
    return web.Response(
        body=(STATIC / name).read_bytes(), content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


async def app_page(request: web.Request) -> web.StreamResponse:
    if await _principal(request.app[API], request) is None:
        target = request.path_qs
        raise web.HTTPFound("/signin" + ("" if target == "/" else "?next=" + quote(target, safe="")))
    return _page("index.html")


async def signin_page(request: web.Request) -> web.StreamResponse:
    return _page("signin.html")


async def create_session(request: web.Request) -> web.StreamResponse:
    """Redeem a pairing code: the browser gets a session cookie and its CSRF token."""
    ctx = request.app[API]
    if not same_origin(request, strict=True):
        # another site's page must not redeem codes in the resident's browser, nor burn the
        # address's failed-attempt budget with wrong ones
        return from_error(Forbidden("sign-in is only accepted from the hub's own sign-in page"), request)
    address = request.remote or "-"
    retry = ctx.limiter.retry_after(address)
    if retry is not None:
        err = RateLimited(f"too many wrong codes; retry in {max(1, round(retry + 0.5))} s")
        return from_error(err, request, headers={"Retry-After": str(max(1, round(retry + 0.5)))})
    body = PairRequest.parse(await read_json(request))
    scopes = await request.app[PAIRING].redeem(body.code)
    if scopes is None:
        ctx.limiter.record(address)
        ctx.hub.metrics.auth_failures.labels("pairing").inc()
        return from_error(
            Unauthorized("the code is wrong, used or expired: print a new one with dhome pair"), request
        )
    info, secret = await ctx.tokens.create(SESSION_PREFIX + body.label, scopes)
    response = json_response(
        {"token_id": info.id, "name": info.name, "scopes": list(info.scopes), "csrf": csrf_token(secret)},
        status=201,
    )
    set_cookie(response, secret, secure=ctx.scheme == "https")
    return response


async def get_session(request: web.Request) -> web.StreamResponse:
    found = await _principal(request.app[API], request)
    if found is None:
        return from_error(Unauthorized("not signed in"), request)
    secret, principal = found
    scopes = sorted(s.value for s in principal.scopes)
    return json_response(
        {"token_id": principal.token_id, "name": principal.name, "scopes": scopes, "csrf": csrf_token(secret)}
    )


async def delete_session(request: web.Request) -> web.StreamResponse:
    """Sign out: the session's token is revoked, the cookie removed."""
    ctx = request.app[API]
    found = await _principal(ctx, request)
    if found is not None:
        secret, principal = found
        if not csrf_ok(request, secret):
            return from_error(Forbidden("signing out needs the X-CSRF-Token header"), request)
        await ctx.revoke_token(principal.token_id)
    response = web.Response(status=204)
    clear_cookie(response)
    return response


def install(app: web.Application) -> None:
    """Add the web app to the API's app (``ApiService(extensions=[install])``)."""
    ctx = app[API]
    app[PAIRING] = PairingCodes(ctx.hub.storage, wall_clock)
    app.middlewares.append(session_middleware)
    for path in PAGES:
        app.router.add_get(path, app_page)
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/session", create_session)
    app.router.add_get("/session", get_session)
    app.router.add_delete("/session", delete_session)
    app.router.add_static("/static/", STATIC, append_version=False)
