"""REST: devices, state, property read/write, commands and actions, history, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from hub.api.models import Scope
from tests.api.support import LAMP, SMOKE, THERMO, Harness, probe_ctx


async def get(
    http: aiohttp.ClientSession, h: Harness, path: str, scope: Scope = Scope.READ, **params: Any
) -> Any:
    async with http.get(h.url + path, headers=h.auth(scope), params=params or None) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_devices_are_listed_sorted_filtered_and_paged(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    page = await get(http, api_hub, "/devices")
    assert [d["device"]["id"] for d in page["items"]] == [LAMP, SMOKE, THERMO]
    assert "next" not in page
    assert page["items"][0]["available"] is True

    first = await get(http, api_hub, "/devices", limit="2")
    assert [d["device"]["id"] for d in first["items"]] == [LAMP, SMOKE]
    second = await get(http, api_hub, "/devices", limit="2", cursor=first["next"])
    assert [d["device"]["id"] for d in second["items"]] == [THERMO]
    assert "next" not in second

    for params, expected in (
        ({"room": "hall"}, [THERMO]),
        ({"capability": "dhi.on_off"}, [LAMP]),
        ({"adapter": "probe"}, [LAMP, SMOKE, THERMO]),
        ({"adapter": "zigbee2mqtt"}, []),
    ):
        page = await get(http, api_hub, "/devices", **params)
        assert [d["device"]["id"] for d in page["items"]] == expected, params


@pytest.mark.parametrize(
    ("query", "name"),
    [({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "x"}, "limit"),
     ({"capability": "on_off"}, "capability"), ({"cursor": ""}, "cursor"), ({"limt": "5"}, "limt")],
)  # fmt: skip
async def test_bad_query_parameters_are_400_naming_the_parameter(
    api_hub: Harness, http: aiohttp.ClientSession, query: dict[str, str], name: str
) -> None:
    async with http.get(api_hub.url + "/devices", params=query, headers=api_hub.auth(Scope.READ)) as resp:
        assert resp.status == 400
        problem = await resp.json()
    assert problem["code"] == "bad_request"
    assert problem["invalid-params"][0]["name"] == name


async def test_device_and_its_state(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    entry = await get(http, api_hub, f"/devices/{quote(LAMP, safe='')}")
    assert entry["device"]["name"] == "Probe lamp"
    state = await get(http, api_hub, f"/devices/{LAMP}/state")
    assert state["components"]["main"]["dhi.on_off"]["on"]["value"] is False
    assert state["components"]["main"]["dhi.level"]["level"]["source"] == "probe"
    async with http.get(api_hub.url + "/devices/probe:nope", headers=api_hub.auth(Scope.READ)) as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == "unknown_device"


async def test_read_property_returns_the_bare_value_with_last_modified(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    async with http.get(api_hub.url + f"/devices/{THERMO}/state/main/dhi.temperature/temperature",
                        headers=api_hub.auth(Scope.READ)) as resp:  # fmt: skip
        assert resp.status == 200
        assert await resp.json() == 20.0
        assert resp.headers["Last-Modified"].endswith("GMT")
    for path, status in (
        (f"/devices/{THERMO}/state/main/dhi.temperature/offset", 404),  # not a property of this device
        (f"/devices/{THERMO}/state/main/dhi.on_off/on", 404),
        (f"/devices/{THERMO}/state/side/dhi.temperature/temperature", 404),
    ):
        async with http.get(api_hub.url + path, headers=api_hub.auth(Scope.READ)) as resp:
            assert resp.status == status, path


async def test_write_property_runs_set_and_reports_validation_errors(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    url = api_hub.url + f"/devices/{LAMP}/state/main/dhi.level/level"
    async with http.put(url, json=55, headers=api_hub.auth(Scope.CONTROL)) as resp:
        assert resp.status == 200, await resp.text()
        result = await resp.json()
    assert result["status"] == "ok" and result["device"] == LAMP
    assert api_hub.hub.state.get(LAMP, "main", "dhi.level", "level").value == 55  # type: ignore[union-attr]

    async with http.put(url, json=500, headers=api_hub.auth(Scope.CONTROL)) as resp:
        assert resp.status == 422
        problem = await resp.json()
    assert problem["code"] == "out_of_range"
    assert problem["invalid-params"][0]["name"] == "params.level"
    assert problem["result"]["status"] == "error"

    async with http.put(
        url, data=b"{nope", headers=api_hub.auth(Scope.CONTROL) | {"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "invalid_document"
    async with http.put(
        url, data=b"55", headers=api_hub.auth(Scope.CONTROL) | {"Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 415


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"id": "c1", "capability": "dhi.on_off", "command": "toggle"}, 200, None, None),
        (
            {"id": "c2", "capability": "dhi.level", "command": "set", "params": {"level": -5}},
            422,
            "out_of_range",
            "params.level",
        ),
        ({"id": "c3", "capability": "dhi.on_off", "command": "explode"}, 422, "unknown_command", "command"),
        ({"id": "c4", "capability": "dhi.color", "command": "set"}, 422, "unknown_capability", "capability"),
        (
            {"id": "c5", "component": "side", "capability": "dhi.on_off", "command": "on"},
            422,
            "unknown_component",
            "component",
        ),
        (
            {"id": "c6", "device": "probe:other", "capability": "dhi.on_off", "command": "on"},
            422,
            "invalid_params",
            "body.device",
        ),
        ({"id": "c7", "capability": "dhi.on_off"}, 422, "invalid_params", "body.command"),
        (
            {"id": "c8", "capability": "dhi.on_off", "command": "on", "extra": 1},
            422,
            "invalid_params",
            "body.extra",
        ),
    ],
)
async def test_commands_return_results_or_precise_problems(
    api_hub: Harness,
    http: aiohttp.ClientSession,
    body: dict[str, Any],
    status: int,
    code: str | None,
    field: str | None,
) -> None:
    async with http.post(
        api_hub.url + f"/devices/{LAMP}/commands", json=body, headers=api_hub.auth(Scope.CONTROL)
    ) as r:
        assert r.status == status, await r.text()
        data = await r.json()
    if status == 200:
        assert data == {"id": body["id"], "device": LAMP, "status": "ok"}
        assert api_hub.hub.state.get(LAMP, "main", "dhi.on_off", "on").value is True  # type: ignore[union-attr]
        return
    assert r.content_type == "application/problem+json"
    assert data["code"] == code and data["status"] == status
    assert data["invalid-params"][0]["name"] == field


async def test_command_to_an_unknown_device_is_404(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    body = {"id": "c1", "capability": "dhi.on_off", "command": "on"}
    async with http.post(
        api_hub.url + "/devices/probe:ghost/commands", json=body, headers=api_hub.auth(Scope.CONTROL)
    ) as r:
        assert r.status == 404


async def test_actions_take_their_parameters_as_the_body(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    base = api_hub.url + f"/devices/{LAMP}/actions/main"
    async with http.post(base + "/dhi.on_off/on", headers=api_hub.auth(Scope.CONTROL)) as r:
        assert r.status == 200, await r.text()
    assert api_hub.hub.state.get(LAMP, "main", "dhi.on_off", "on").value is True  # type: ignore[union-attr]
    async with http.post(
        base + "/dhi.level/set_level", json={"level": 42}, headers=api_hub.auth(Scope.CONTROL)
    ) as r:
        assert r.status == 200, await r.text()
    assert api_hub.hub.state.get(LAMP, "main", "dhi.level", "level").value == 42  # type: ignore[union-attr]
    async with http.post(base + "/dhi.level/set_level", json=[1], headers=api_hub.auth(Scope.CONTROL)) as r:
        assert r.status == 422
    async with http.post(base + "/dhi.level/Bad-Name", json={}, headers=api_hub.auth(Scope.CONTROL)) as r:
        assert r.status == 404


async def test_history_is_paged_and_filtered_by_time(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    ctx = probe_ctx(api_hub.hub)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(5):
        ctx.publish_state(
            THERMO, "dhi.temperature", {"temperature": 21.0 + i}, time=t0 + timedelta(minutes=i)
        )
    path = f"/devices/{THERMO}/history"
    since = (t0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    until = (t0 + timedelta(minutes=4)).isoformat()
    page1 = await get(http, api_hub, path, since=since, until=until, limit="2")
    assert [e["value"] for e in page1["items"]] == [22.0, 23.0]
    page2 = await get(http, api_hub, path, since=since, until=until, limit="2", cursor=page1["next"])
    assert [e["value"] for e in page2["items"]] == [24.0]
    assert "next" not in page2
    everything = await get(http, api_hub, path, capability="dhi.temperature", property="temperature")
    assert [e["value"] for e in everything["items"]] == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]
    async with http.get(
        api_hub.url + path, params={"since": "yesterday"}, headers=api_hub.auth(Scope.READ)
    ) as r:
        assert r.status == 400


async def test_events_since_cursor_and_filters(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    first = await get(http, api_hub, "/events", limit="3")
    assert [m["seq"] for m in first["items"]] == sorted(m["seq"] for m in first["items"])
    assert first["next"] == first["items"][-1]["seq"]
    rest = await get(http, api_hub, "/events", since=str(first["next"]), limit="1000")
    seqs = [m["seq"] for m in first["items"] + rest["items"]]
    assert seqs == sorted(set(seqs))
    probe_ctx(api_hub.hub).publish_state(THERMO, "dhi.temperature", {"temperature": 30.5})
    new = await get(
        http, api_hub, "/events", since=str(rest["next"]), type="org.dhi.v1.state.changed", device=THERMO
    )
    assert [m["data"]["value"] for m in new["items"]] == [30.5]
    assert new["items"][0]["type"] == "org.dhi.v1.state.changed"
    assert new["items"][0]["source"].endswith(THERMO)
    empty = await get(http, api_hub, "/events", since=str(new["next"]))
    assert empty == {"items": [], "next": new["next"]}
    async with http.get(
        api_hub.url + "/events", params={"type": "bogus"}, headers=api_hub.auth(Scope.READ)
    ) as r:
        assert r.status == 400


async def test_catalog_and_adapters(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    cat = await get(http, api_hub, "/catalog")
    assert "dhi.on_off" in {c["id"] for c in cat["capabilities"]}
    assert "Cel" in {u["symbol"] for u in cat["units"]}
    on_off = await get(http, api_hub, "/catalog/dhi.on_off")
    assert on_off["label"]["zh-CN"]
    kinds = await get(http, api_hub, "/alert-kinds")
    smoke = next(k for k in kinds["kinds"] if k["id"] == "smoke")
    assert smoke["class"] == "safety" and smoke["call"] == ["119"] and smoke["label"]["zh-CN"] == "烟雾报警"
    assert smoke["advice"]["zh-CN"] and smoke["cap"]["category"] == "Fire"
    assert {n["number"] for n in kinds["numbers"]} == {"110", "119", "120"}
    async with http.get(api_hub.url + "/catalog/dhi.teleport", headers=api_hub.auth(Scope.READ)) as r:
        assert r.status == 404
    adapters = await get(http, api_hub, "/adapters", Scope.ADMIN)
    assert adapters["items"] == [
        {"name": "probe", "type": "probe", "state": "running", "restarts": 0, "devices": 3}
    ]
    health = await get(http, api_hub, "/health")
    assert health["status"] == "ok" and health["seq"] == api_hub.hub.bus.seq


async def test_unknown_route_and_method_are_problems(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.get(api_hub.url + "/nothing-here") as r:
        assert r.status == 404 and r.content_type == "application/problem+json"
    async with http.patch(api_hub.url + "/devices", headers=api_hub.auth(Scope.ADMIN)) as r:
        assert r.status == 405
        assert r.headers["Allow"] == "GET"
        assert (await r.json())["code"] == "method_not_allowed"


async def test_alert_and_subscription_routes_are_503_without_their_services(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    for method, path in (("GET", "/alerts"), ("GET", "/alerts/a"), ("GET", "/subscriptions"),
                         ("DELETE", "/subscriptions/s"), ("GET", "/subscriptions/s/deliveries")):  # fmt: skip
        async with http.request(method, api_hub.url + path, headers=api_hub.auth(Scope.ADMIN)) as r:
            assert r.status == 503, path
            assert (await r.json())["code"] == "service_unavailable"


async def test_a_stored_message_that_no_longer_validates_is_skipped_not_fatal(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    storage = api_hub.hub.storage
    seq = api_hub.hub.bus.next_seq()
    # a row an earlier version wrote: read through the envelope model (hub/meta.py)
    api_hub.hub.events_as_stored_from = seq + 1
    await storage.execute(
        "INSERT INTO events (seq, type, time, device, message) VALUES (?,?,?,?,?)",
        (
            seq,
            "org.dhi.v1.state.changed",
            "2030-01-01T00:00:00+00:00",
            THERMO,
            '{"type": "org.dhi.v1.state.changed"}',
        ),
    )
    probe_ctx(api_hub.hub).publish_state(THERMO, "dhi.temperature", {"temperature": 41.0})
    page = await get(http, api_hub, "/events", since=str(seq - 1))
    assert [m["data"]["value"] for m in page["items"]] == [41.0]
