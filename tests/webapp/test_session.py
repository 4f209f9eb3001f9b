"""Sign-in with a pairing code, the session cookie on the API, CSRF, sign-out (real hub, real HTTP)."""

from __future__ import annotations

import contextlib
import re
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import aiohttp
from yarl import URL

from hub.api.models import Scope
from hub.api.server import ApiService
from hub.config import AdapterEntry, HubConfig, TlsConfig
from hub.core import Hub
from hub.webapp import install
from hub.webapp.pairing import TTL, PairingCodes, display
from hub.webapp.session import COOKIE, CSRF_HEADER
from tests.api.support import TEST_SETTINGS
from tests.support.mosquitto import make_tls_files
from tests.webapp.conftest import WebHub

STATIC = Path(__file__).resolve().parents[2] / "hub" / "webapp" / "static"


async def sign_in(client: aiohttp.ClientSession, web: WebHub, *scopes: Scope) -> dict[str, object]:
    code = await web.code(*scopes)
    async with client.post(web.base + "/session", json={"code": display(code), "label": "test"}) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


async def test_pairing_code_gives_an_httponly_strict_cookie_once(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    code = await web_hub.code()
    async with browser_like.post(web_hub.base + "/session", json={"code": code}) as r:
        assert r.status == 201
        header = r.headers["Set-Cookie"]
        body = await r.json()
    assert header.startswith(COOKIE + "=")
    assert "HttpOnly" in header and re.search(r"SameSite=Strict", header, re.I)
    assert body["scopes"] == ["admin"] and re.fullmatch(r"[0-9a-f]{64}", body["csrf"])
    # single use: the same code again is refused
    async with (
        aiohttp.ClientSession() as other,
        other.post(web_hub.base + "/session", json={"code": code}) as again,
    ):
        assert again.status == 401
        assert (await again.json())["code"] == "unauthorized"


async def test_wrong_and_malformed_codes_are_refused(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    for body in ({"code": "0000-0000"}, {"code": "12"}, {"code": "abcdefgh"}):
        async with browser_like.post(web_hub.base + "/session", json=body) as r:
            assert r.status == 401
    for bad in ({"nope": 1}, [1], {"code": 12345678}):
        async with browser_like.post(web_hub.base + "/session", json=bad) as r:
            assert r.status == 422 or r.status == 400, await r.text()
    assert not browser_like.cookie_jar.filter_cookies(URL(web_hub.base))


async def test_codes_expire_after_ten_minutes(web_hub: WebHub) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    codes = PairingCodes(web_hub.hub.storage, lambda: now[0])
    code, expires = await codes.issue([Scope.READ])
    assert expires - now[0] == TTL
    now[0] += TTL + timedelta(seconds=1)
    assert await codes.redeem(code) is None
    code, _ = await codes.issue([Scope.READ, Scope.ALERTS])
    now[0] += TTL - timedelta(seconds=1)
    assert await codes.redeem(code) == [Scope.READ, Scope.ALERTS]
    # stored hashed: the digits are nowhere in the database
    rows = await web_hub.hub.storage.fetchall("SELECT hash, scopes FROM pairing_codes")
    assert rows and all(code not in str(row) for row in rows)


async def test_without_a_session_pages_redirect_and_the_api_refuses(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    for path, target in (("/", "/signin"), ("/alerts", "/signin?next=%2Falerts"), ("/sharing", "/signin?next=%2Fsharing"),
                         ("/settings", "/signin?next=%2Fsettings"), ("/devices/virtual:kitchen-light", None)):  # fmt: skip
        async with browser_like.get(web_hub.base + path, allow_redirects=False) as r:
            assert r.status == 302, path
            if target:
                assert unquote(r.headers["Location"]) == unquote(target)
            else:
                assert r.headers["Location"].startswith("/signin?next=")
    async with browser_like.get(web_hub.base + "/signin") as r:
        assert r.status == 200 and "<form" in await r.text()
    async with browser_like.get(web_hub.base + "/api/v1/devices") as r:
        assert r.status == 401
    async with browser_like.get(web_hub.base + "/session") as r:
        assert r.status == 401
    # a made-up cookie is no session either
    browser_like.cookie_jar.update_cookies({COOKIE: "dhk_forged"}, URL(web_hub.base))
    async with browser_like.get(web_hub.base + "/alerts", allow_redirects=False) as r:
        assert r.status == 302
    async with browser_like.get(web_hub.base + "/api/v1/devices") as r:
        assert r.status == 401


async def test_session_cookie_works_on_the_api_and_csrf_guards_every_change(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    session = await sign_in(browser_like, web_hub)
    csrf = str(session["csrf"])
    async with browser_like.get(web_hub.base + "/", allow_redirects=False) as r:
        assert r.status == 200 and "Content-Security-Policy" in r.headers
    async with browser_like.get(web_hub.base + "/api/v1/devices") as r:
        assert r.status == 200 and (await r.json())["items"]
    path = "/api/v1/devices/virtual:kitchen-light/state/main/dhi.on_off/on"
    for headers in ({}, {CSRF_HEADER: "0" * 64}, {CSRF_HEADER: ""}):
        async with browser_like.put(web_hub.base + path, json=True, headers=headers) as r:
            assert r.status == 403, headers
    async with browser_like.put(web_hub.base + path, json=True, headers={CSRF_HEADER: csrf}) as r:
        assert r.status == 200, await r.text()
    async with browser_like.get(web_hub.base + path) as r:
        assert await r.json() is True
    # every state-changing method is checked, DELETE and POST too
    async with browser_like.post(
        web_hub.base + "/api/v1/tokens", json={"name": "x", "scopes": ["read"]}
    ) as r:
        assert r.status == 403
    async with browser_like.delete(web_hub.base + "/api/v1/tokens/tok_x") as r:
        assert r.status == 403
    # a cross-site WebSocket handshake with the cookie is refused
    async with browser_like.get(
        web_hub.base + "/api/v1/ws",
        headers={"Origin": "http://evil.example", "Upgrade": "websocket", "Connection": "Upgrade"},
    ) as r:
        assert r.status == 403
    async with browser_like.ws_connect(web_hub.base + "/api/v1/ws", origin=web_hub.base) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "auth_ok" and "admin" in hello["scopes"]


async def test_sessions_are_listed_revocable_and_sign_out_ends_them(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    first = await sign_in(browser_like, web_hub)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        second = await sign_in(phone, web_hub)
        async with browser_like.get(web_hub.base + "/api/v1/tokens") as r:
            names = {t["id"]: t["name"] for t in (await r.json())["items"]}
        assert names[str(first["token_id"])] == names[str(second["token_id"])] == "session: test"
        async with browser_like.delete(
            web_hub.base + f"/api/v1/tokens/{second['token_id']}", headers={CSRF_HEADER: str(first["csrf"])}
        ) as r:
            assert r.status == 200
        async with phone.get(web_hub.base + "/api/v1/devices") as r:
            assert r.status == 401
    async with browser_like.delete(web_hub.base + "/session") as r:
        assert r.status == 403  # signing out needs the CSRF token too
    async with browser_like.delete(web_hub.base + "/session", headers={CSRF_HEADER: str(first["csrf"])}) as r:
        assert r.status == 204
    async with browser_like.get(web_hub.base + "/session") as r:
        assert r.status == 401
    info = await web_hub.api.context.tokens.get(str(first["token_id"]))
    assert info.revoked is not None


async def test_a_session_has_the_scopes_of_its_code(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    session = await sign_in(browser_like, web_hub, Scope.READ)
    headers = {CSRF_HEADER: str(session["csrf"])}
    async with browser_like.get(web_hub.base + "/api/v1/alerts") as r:
        assert r.status in (200, 503)
    path = "/api/v1/devices/virtual:kitchen-light/state/main/dhi.on_off/on"
    async with browser_like.put(web_hub.base + path, json=True, headers=headers) as r:
        assert r.status == 403 and (await r.json())["code"] == "forbidden"


async def test_static_assets_are_local_only(web_hub: WebHub, browser_like: aiohttp.ClientSession) -> None:
    for name in ("app.js", "lib.js", "labels.js", "emergency.js", "chart.js", "signin.js", "style.css",
                 "vendor/uplot/uPlot.esm.js", "vendor/uplot/uPlot.min.css", "i18n/zh-CN.json", "i18n/en.json"):  # fmt: skip
        async with browser_like.get(web_hub.base + "/static/" + name) as r:
            assert r.status == 200, name
    # no CDN, no web font, nothing fetched from the internet at run time
    for path in STATIC.rglob("*"):
        if path.is_file() and path.suffix in (".js", ".css", ".html", ".json"):
            # (the SVG namespace is a name, not something fetched)
            text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
            if "vendor" in path.parts:  # a library's comments cite its sources: only its code counts
                text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
                text = re.sub(r"(?<![:\"'])//.*$", "", text, flags=re.M)
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), path


async def test_another_site_cannot_sign_in_or_burn_the_failed_attempt_budget(
    web_hub: WebHub, browser_like: aiohttp.ClientSession
) -> None:
    code = await web_hub.code()
    foreign = [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
    for headers in foreign * 3:
        async with browser_like.post(web_hub.base + "/session", json={"code": code}, headers=headers) as r:
            assert r.status == 403, await r.text()
            assert "sign-in page" in (await r.json())["detail"]
    assert not browser_like.cookie_jar.filter_cookies(URL(web_hub.base))
    assert web_hub.api.context.limiter.retry_after("127.0.0.1") is None  # nothing counted against the home
    own = {"Origin": web_hub.base, "Sec-Fetch-Site": "same-origin"}
    async with browser_like.post(web_hub.base + "/session", json={"code": code}, headers=own) as r:
        assert r.status == 201  # the code was not used up by the foreign attempts


async def test_under_tls_the_api_and_the_session_cookie_are_https_only(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    cfg = HubConfig(adapters=[AdapterEntry(type="virtual", config={})])
    cfg.api.host, cfg.api.port = "127.0.0.1", 0
    cfg.api.tls = TlsConfig(cert=files.cert, key=files.key)
    hub = Hub(cfg, data_dir=tmp_path / "data")
    api = ApiService(TEST_SETTINGS, extensions=[install])
    hub.add_service(api)
    client_tls = ssl.create_default_context(cafile=str(files.ca))
    async with hub, aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as client:
        web = WebHub(hub, api)
        base = f"https://127.0.0.1:{api.port}"
        assert api.url == base + "/api/v1"
        code = await web.code()
        async with client.post(base + "/session", json={"code": code}) as r:
            assert r.status == 201, await r.text()
            assert re.search(r";\s*Secure", r.headers["Set-Cookie"], re.I)
        async with client.get(base + "/api/v1/health") as r:
            assert r.status == 200
        # plain HTTP on the TLS port gets no answer a browser would accept
        with contextlib.suppress(aiohttp.ClientError):
            async with (
                aiohttp.ClientSession() as plain,
                plain.get(f"http://127.0.0.1:{api.port}/api/v1/health") as r,
            ):
                assert r.status != 200
