"""HTTP details: CORS (off unless configured), body limits, query/time parsing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.api.context import ApiSettings
from hub.api.http import parse_rfc3339
from hub.api.models import Scope
from hub.api.server import ApiService
from hub.core import Hub
from tests.api.support import LAMP, TEST_SETTINGS, Harness, ProbeAdapter, hub_config, running_hub

ORIGIN = "https://panel.example"


async def test_cors_is_off_by_default(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.get(api_hub.url + "/devices", headers=api_hub.auth(Scope.READ) | {"Origin": ORIGIN}) as r:
        assert r.status == 200
        assert "Access-Control-Allow-Origin" not in r.headers
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    async with http.options(api_hub.url + "/devices", headers=preflight) as r:
        assert r.status == 405


async def test_cors_answers_listed_origins_only(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = hub_config()
    config.api.cors_origins = [ORIGIN]
    async with running_hub(tmp_path, config=config) as h:
        preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"}  # fmt: skip
        async with http.options(h.url + "/devices", headers=preflight) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
        async with http.options(
            h.url + "/devices", headers=preflight | {"Origin": "https://evil.example"}
        ) as r:
            assert r.status == 403
        async with http.get(h.url + "/devices", headers=h.auth(Scope.READ) | {"Origin": ORIGIN}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        async with http.get(
            h.url + "/devices", headers=h.auth(Scope.READ) | {"Origin": "https://evil.example"}
        ) as r:
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_a_body_over_the_limit_is_413(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    settings = ApiSettings(**{**TEST_SETTINGS.__dict__, "max_body": 1024})
    async with running_hub(tmp_path, settings=settings) as h:
        body = {"id": "big", "capability": "dhi.on_off", "command": "on", "params": {"x": "y" * 5000}}
        async with http.post(
            f"{h.url}/devices/{LAMP}/commands", json=body, headers=h.auth(Scope.CONTROL)
        ) as r:
            assert r.status == 413
            assert (await r.json())["code"] == "payload_too_large"


async def test_the_api_can_be_disabled(tmp_path: Path) -> None:
    config = hub_config()
    config.api.enabled = False
    hub = Hub(config, data_dir=tmp_path, adapter_classes={"probe": ProbeAdapter})
    api = ApiService(TEST_SETTINGS)
    hub.add_service(api)
    async with hub:
        assert api.port == 0


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_rfc3339_round_trips(when: datetime) -> None:
    for text in (
        when.isoformat(),
        when.isoformat().replace("+00:00", "Z"),
        when.isoformat().lower().replace("+00:00", "z"),
    ):
        assert parse_rfc3339(text) == when


def test_rfc3339_edge_cases() -> None:
    assert parse_rfc3339("2016-12-31T23:59:60Z") == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_rfc3339("2025-01-31T08:00:00+08:00") == datetime(2025, 1, 31, 0, 0, tzinfo=UTC)
    assert parse_rfc3339("0000-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_rfc3339("0001-01-01T00:00:00+01:00") == datetime.min.replace(tzinfo=UTC)
    for bad in (
        "yesterday",
        "2025-02-30T00:00:00Z",
        "2025-01-31",
        "2025-01-31T08:00:00",
        "2025-01-31T25:00:00Z",
    ):
        assert parse_rfc3339(bad) is None, bad


@given(st.text(max_size=40))
def test_rfc3339_never_raises(text: str) -> None:
    result = parse_rfc3339(text)
    assert result is None or result.tzinfo is UTC


async def test_malformed_requests_log_one_line_without_traceback_and_are_counted(
    api_hub: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
        for payload in bad * 10:
            reader, writer = await asyncio.open_connection(api_hub.api.host, api_hub.api.port)
            writer.write(payload)
            await writer.drain()
            assert (await reader.read(100)).startswith(b"HTTP/1.")  # answered 400, server alive
            writer.close()
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "malformed HTTP request" in records[0].getMessage()
    count = api_hub.hub.metrics.registry.get_sample_value("dhome_api_malformed_requests_total")
    assert count == 20
