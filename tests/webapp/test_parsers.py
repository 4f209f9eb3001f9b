"""Property tests of what the web app parses from a browser: pairing codes, the sign-in body,
the CSRF header and the Origin check; and ``dhome pair`` on the hub's SQLite file."""

from __future__ import annotations

import asyncio
import json
import string
from pathlib import Path

import typer
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from dhi.errors import InvalidParams
from hub.api.models import Scope
from hub.clock import Clock
from hub.core import DB_NAME
from hub.storage import Storage
from hub.webapp.pairing import DIGITS, PairingCodes, display, normalise
from hub.webapp.routes import PairRequest
from hub.webapp.session import CSRF_HEADER, csrf_ok, csrf_token, same_origin

codes = st.text(alphabet=string.digits, min_size=DIGITS, max_size=DIGITS)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@given(codes, st.sampled_from(["", " ", "-", " - "]))
def test_a_code_survives_how_people_type_it(code: str, sep: str) -> None:
    assert normalise(display(code)) == code
    assert normalise(code[:4] + sep + code[4:]) == code


@given(st.text(max_size=60))
def test_normalise_keeps_only_digits(typed: str) -> None:
    out = normalise(typed)
    assert all(ch.isdigit() for ch in out) and len(out) <= len(typed)


@given(json_values)
def test_any_json_sign_in_body_is_parsed_or_refused_clearly(data: object) -> None:
    try:
        req = PairRequest.parse(data)
    except InvalidParams as exc:
        assert exc.field in ("code", "label")
    else:
        assert isinstance(data, dict) and req.code == data["code"][:40] and 1 <= len(req.label) <= 60


@given(st.text(min_size=1, max_size=80), st.text(max_size=80))
def test_only_the_sessions_own_csrf_token_passes(secret: str, sent: str) -> None:
    good = make_mocked_request("POST", "/api/v1/x", headers={CSRF_HEADER: csrf_token(secret)})
    assert csrf_ok(good, secret)
    try:
        other = make_mocked_request("POST", "/api/v1/x", headers={CSRF_HEADER: sent})
    except ValueError:  # not a header value at all
        return
    assert csrf_ok(other, secret) is (sent == csrf_token(secret))
    assert not csrf_ok(make_mocked_request("POST", "/api/v1/x"), secret)


@given(
    st.sampled_from(["127.0.0.1:8470", "hub.local:8470", "[::1]:8470"]),
    st.from_regex(r"[a-z]{1,10}\.example(:\d{2,5})?", fullmatch=True),
)
def test_cross_origin_is_told_apart(host: str, other: str) -> None:
    def req(origin: str | None) -> web.Request:
        headers = {"Host": host} | ({"Origin": origin} if origin is not None else {})
        return make_mocked_request("GET", "/api/v1/ws", headers=headers)

    assert same_origin(req(f"http://{host}"))
    assert same_origin(req(None))
    assert not same_origin(req(f"http://{other}"))
    assert not same_origin(req("null"))


def test_dhome_pair_prints_a_code_that_redeems_once(tmp_path: Path) -> None:
    from hub.cli.pair import pair

    app = typer.Typer()
    app.command()(pair)
    result = CliRunner().invoke(app, ["--scope", "read,alerts", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scopes"] == ["read", "alerts"] and len(out["code"]) == DIGITS
    human = CliRunner().invoke(app, ["--data-dir", str(tmp_path)])
    assert human.exit_code == 0 and "-" in human.stdout
    bad = CliRunner().invoke(app, ["--scope", "root", "--data-dir", str(tmp_path)])
    assert bad.exit_code != 0

    async def redeem_twice() -> list[object]:
        storage = Storage(tmp_path / DB_NAME)
        await storage.open()
        try:
            codes = PairingCodes(storage, Clock().now)
            return [await codes.redeem(out["code"]), await codes.redeem(out["code"])]
        finally:
            await storage.close()

    assert asyncio.run(redeem_twice()) == [[Scope.READ, Scope.ALERTS], None]
