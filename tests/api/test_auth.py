"""Auth: every endpoint needs its scope; tokens are hashed; failures are counted and limited."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhi.errors import InvalidParams, NotFound
from hub.api.auth import IMPLIES, FailureLimiter, TokenStore, bearer_token, effective, parse_scopes
from hub.api.context import ApiSettings
from hub.api.models import Scope
from hub.api.openapi import load_spec
from tests.api.support import LAMP, Harness, running_hub

PATH_VALUES = {
    "id": LAMP,
    "component": "main",
    "capability": "dhi.on_off",
    "property": "on",
    "command": "toggle",
    "message_id": "msg-1",
}
#: a token that must NOT be enough for an operation needing the key scope
WRONG_SCOPE = {
    Scope.READ: Scope.ALERTS,
    Scope.CONTROL: Scope.READ,
    Scope.ALERTS: Scope.CONTROL,
    Scope.ADMIN: Scope.CONTROL,
}


def _operations() -> list[tuple[str, str, Scope | None]]:
    out = []
    for path, item in load_spec()["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete"):
                continue
            scopes = op["security"][0]["bearer"] if op["security"] else []
            out.append((method.upper(), path, Scope(scopes[0]) if scopes else None))
    return out


OPERATIONS = _operations()
SECURED = [op for op in OPERATIONS if op[2] is not None]


def _url(h: Harness, path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return h.url + path


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str]
) -> tuple[int, Any, dict[str, str]]:
    body = {} if method in ("POST", "PUT") else None
    async with http.request(method, url, json=body, headers=headers) as resp:
        data = await resp.json(content_type=None) if resp.content_type.endswith("json") else await resp.text()
        return resp.status, data, dict(resp.headers)


def _failures(h: Harness, reason: str) -> float:
    value = h.hub.metrics.registry.get_sample_value("dhome_auth_failures_total", {"reason": reason})
    return value or 0.0


def test_the_spec_has_secured_operations_of_every_scope() -> None:
    assert {op[2] for op in SECURED} == set(Scope)
    assert {(m, p) for m, p, s in OPERATIONS if s is None} == {("GET", "/health"), ("GET", "/openapi.json")}


@pytest.mark.parametrize(("method", "path", "scope"), SECURED, ids=[f"{m} {p}" for m, p, _ in SECURED])
async def test_secured_operation_rejects_missing_and_wrong_scope_tokens(
    api_hub: Harness, http: aiohttp.ClientSession, method: str, path: str, scope: Scope
) -> None:
    url = _url(api_hub, path)
    status, body, headers = await _call(http, method, url, {})
    assert status == 401, body
    assert body["code"] == "unauthorized" and body["status"] == 401
    assert headers["Content-Type"].startswith("application/problem+json")
    assert headers["WWW-Authenticate"].startswith("Bearer")

    status, body, _ = await _call(http, method, url, {"Authorization": "Bearer dhk_not-a-real-token"})
    assert status == 401 and body["code"] == "unauthorized"

    status, body, headers = await _call(http, method, url, api_hub.auth(WRONG_SCOPE[scope]))
    assert status == 403, body
    assert body["code"] == "forbidden" and scope.value in body["detail"]
    assert f'scope="{scope.value}"' in headers["WWW-Authenticate"]

    status, body, _ = await _call(http, method, url, api_hub.auth(scope))
    assert status not in (401, 403), body


async def test_public_operations_need_no_token(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    for path in ("/health", "/openapi.json"):
        async with http.get(api_hub.url + path) as resp:
            assert resp.status == 200
            assert await resp.json()


async def test_admin_token_may_do_everything_and_control_includes_read(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    async with http.get(api_hub.url + "/devices", headers=api_hub.auth(Scope.CONTROL)) as resp:
        assert resp.status == 200
    async with http.post(api_hub.url + "/alerts/x/ack", headers=api_hub.auth(Scope.ADMIN)) as resp:
        assert resp.status == 503  # past auth; no alert engine runs in this hub
    async with http.get(api_hub.url + "/audit", headers=api_hub.auth(Scope.ADMIN)) as resp:
        assert resp.status == 200


async def test_failed_authentication_is_counted_by_reason(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    before = {r: _failures(api_hub, r) for r in ("missing", "invalid", "scope")}
    await _call(http, "GET", api_hub.url + "/devices", {})
    await _call(http, "GET", api_hub.url + "/devices", {"Authorization": "Bearer wrong"})
    await _call(http, "GET", api_hub.url + "/devices", {"Authorization": "Bearer wrong"})
    await _call(http, "GET", api_hub.url + "/audit", api_hub.auth(Scope.READ))
    after = {r: _failures(api_hub, r) for r in ("missing", "invalid", "scope")}
    assert {r: after[r] - before[r] for r in after} == {"missing": 1, "invalid": 2, "scope": 1}


async def test_an_address_presenting_bad_tokens_is_refused_with_429(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = ApiSettings(auth_fail_limit=3, auth_fail_window=3600)
    async with running_hub(tmp_path, settings=settings) as h:
        for _ in range(3):
            status, _, _ = await _call(http, "GET", h.url + "/devices", {"Authorization": "Bearer guess"})
            assert status == 401
        status, body, headers = await _call(
            http, "GET", h.url + "/devices", {"Authorization": "Bearer guess"}
        )
        assert status == 429 and body["code"] == "rate_limited"
        assert 1 <= int(headers["Retry-After"]) <= 3600
        # while the address is blocked for wrong tokens, a valid token still works: nobody can
        # lock the resident out by sending wrong ones from the same address
        status, _, _ = await _call(http, "GET", h.url + "/devices", h.auth(Scope.READ))
        assert status == 200
        status, _, _ = await _call(http, "GET", h.url + "/devices", {"Authorization": "Bearer guess"})
        assert status == 429
        # the public endpoints stay reachable
        status, _, _ = await _call(http, "GET", h.url + "/health", {})
        assert status == 200
        assert _failures(h, "rate_limited") == 2


async def test_tokens_are_stored_as_sha256_hashes_only(api_hub: Harness) -> None:
    store = api_hub.api.context.tokens
    info, secret = await store.create("phone", [Scope.READ, Scope.CONTROL])
    assert secret.startswith("dhk_") and len(secret) > 40
    await api_hub.hub.storage.flush()
    raw = Path(api_hub.hub.storage.path).read_bytes()
    wal = Path(str(api_hub.hub.storage.path) + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw
    conn = sqlite3.connect(api_hub.hub.storage.path)
    try:
        (stored,) = conn.execute("SELECT hash FROM tokens WHERE id = ?", (info.id,)).fetchone()
    finally:
        conn.close()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    principal = await store.verify(secret)
    assert principal is not None and principal.scopes == {Scope.READ, Scope.CONTROL}
    assert await store.verify(secret + "x") is None


async def test_revoked_token_stops_working_at_once(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    store = api_hub.api.context.tokens
    info, secret = await store.create("old tablet", [Scope.READ])
    headers = {"Authorization": f"Bearer {secret}"}
    async with http.get(api_hub.url + "/devices", headers=headers) as resp:
        assert resp.status == 200
    async with http.delete(api_hub.url + f"/tokens/{info.id}", headers=api_hub.auth(Scope.ADMIN)) as resp:
        assert resp.status == 200
        assert (await resp.json())["revoked"]
    async with http.get(api_hub.url + "/devices", headers=headers) as resp:
        assert resp.status == 401
    with pytest.raises(NotFound):
        await store.revoke("tok_missing")


async def test_token_api_shows_the_secret_once(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    admin = api_hub.auth(Scope.ADMIN)
    async with http.post(
        api_hub.url + "/tokens", json={"name": "wall panel", "scopes": ["alerts"]}, headers=admin
    ) as r:
        assert r.status == 201
        created = await r.json()
        assert r.headers["Location"].endswith(created["id"])
    async with http.get(api_hub.url + "/tokens", headers=admin) as r:
        listed = await r.json()
    entry = next(t for t in listed["items"] if t["id"] == created["id"])
    assert "token" not in entry and entry["scopes"] == ["alerts"]
    async with http.post(
        api_hub.url + "/alerts/a1/ack", headers={"Authorization": f"Bearer {created['token']}"}
    ) as r:
        assert r.status == 503  # authorised; the alert engine is not running here
    async with http.post(api_hub.url + "/tokens", json={"name": "x", "scopes": ["root"]}, headers=admin) as r:
        assert r.status == 422
        problem = await r.json()
        assert problem["invalid-params"][0]["name"].startswith("body.scopes")


def test_scope_implications() -> None:
    assert effective([Scope.ADMIN]) == set(Scope)
    assert effective([Scope.CONTROL]) == {Scope.CONTROL, Scope.READ}
    assert effective([Scope.ALERTS]) == {Scope.ALERTS}
    assert all(s not in IMPLIES[s] for s in Scope)


def test_parse_scopes() -> None:
    assert parse_scopes("read, control,read") == [Scope.READ, Scope.CONTROL]
    with pytest.raises(InvalidParams, match="unknown scope 'root'"):
        parse_scopes("read,root")
    with pytest.raises(InvalidParams):
        parse_scopes(" , ")


TOKEN_CHARS = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=80)


@given(token=TOKEN_CHARS, scheme=st.sampled_from(["Bearer", "bearer", "BEARER"]))
def test_bearer_token_is_read_from_any_case_of_the_scheme(token: str, scheme: str) -> None:
    assert bearer_token(f"{scheme} {token}") == token


@given(header=st.one_of(st.none(), st.text(max_size=40)))
def test_bearer_token_never_fails_on_garbage(header: str | None) -> None:
    token = bearer_token(header)
    assert token is None or (
        header is not None and header.strip().lower().startswith("bearer ") and token.strip()
    )


@given(
    failures=st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=30),
    limit=st.integers(1, 5),
)
def test_failure_limiter_blocks_after_limit_failures_within_the_window(
    failures: list[float], limit: int
) -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=limit, window=10.0, clock=lambda: now[0])
    recorded: list[float] = []
    for t in sorted(failures):
        now[0] = t
        recent = [x for x in recorded if x > t - 10.0]
        retry = limiter.retry_after("1.2.3.4")
        if len(recent) >= limit:
            assert retry is not None and 0 <= retry <= 10.0
            continue  # blocked attempts are not even checked
        assert retry is None
        limiter.record("1.2.3.4")
        recorded.append(t)
    assert limiter.retry_after("5.6.7.8") is None


def test_failure_limiter_forgets_old_addresses() -> None:
    limiter = FailureLimiter(limit=1, window=60, max_addresses=2, clock=lambda: 0.0)
    for addr in ("a", "b", "c"):
        limiter.record(addr)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("c") is not None


async def test_token_store_rejects_an_empty_scope_list(api_hub: Harness) -> None:
    store: TokenStore = api_hub.api.context.tokens
    with pytest.raises(InvalidParams):
        await store.create("none", [])
