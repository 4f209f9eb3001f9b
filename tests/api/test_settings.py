"""``/settings``: read and replace the home's settings; validation names the field; a save is
persisted (a restarted hub keeps it), audited, and live (CAP area, alert thresholds)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dhi.models.alert import AlertKind
from dhi.models.subscription import Transport
from hub.api.models import DIVISION_CODE, HomeSettings, Scope
from hub.api.server import ApiService
from hub.bridges.cap import CAP_NS, CapHttpBridge
from hub.config import HomeConfig
from hub.core import Hub
from hub.delivery import build_bridges
from tests.alerts.support import MOTION, TestHome, running_home
from tests.api.support import TEST_SETTINGS, Harness
from tests.api.support import running_hub as running_api_hub
from tests.bridges.test_cap import entry_for, sample_alert

NEW: dict[str, Any] = {
    "name": "陈奶奶的家",
    "address": "北京市朝阳区望京街道 12 号楼 3 单元 501",
    "division_code": "110105",
    "inactivity_windows": [
        {"start": "07:00", "end": "21:30", "max_quiet_minutes": 600},
        {"start": "21:30", "end": "07:00", "max_quiet_minutes": 780},
    ],
    "door_open_minutes": 20,
    "night_start": "01:00",
    "night_end": "04:30",
    "contacts": [
        {"name": "女儿小红", "phone": "138 0013 8000"},
        {"name": "阳光社区服务中心", "phone": "010-6478-0000"},
    ],
    "room_names": {"bedroom": "奶奶的卧室"},
}


async def _get(http: aiohttp.ClientSession, h: Harness | str, token: str) -> Any:
    url = h.url if isinstance(h, Harness) else h
    async with http.get(url + "/settings", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        return await resp.json()


async def _put(http: aiohttp.ClientSession, url: str, token: str, body: Any) -> tuple[int, Any]:
    async with http.put(url + "/settings", json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_get_shows_the_config_files_values(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    body = await _get(http, api_hub, api_hub.tokens[Scope.READ])
    assert body == {
        "name": "My home",
        "inactivity_windows": [
            {"start": "06:00", "end": "22:00", "max_quiet_minutes": 720},
            {"start": "22:00", "end": "06:00", "max_quiet_minutes": 840},
        ],
        "door_open_minutes": 15,
        "night_start": "00:00",
        "night_end": "05:00",
        "contacts": [],
        "room_names": {},
    }


async def test_put_replaces_the_settings_live(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    status, body = await _put(http, api_hub.url, api_hub.tokens[Scope.ADMIN], NEW)
    assert status == 200 and body == NEW
    assert await _get(http, api_hub, api_hub.tokens[Scope.READ]) == NEW
    home = api_hub.hub.config.home
    assert (home.name, home.address, home.division_code) == (NEW["name"], NEW["address"], "110105")
    assert home.contacts[0] == {"name": "女儿小红", "phone": "138 0013 8000"}
    assert home.room_names == {"bedroom": "奶奶的卧室"}
    assert home.id == "home"  # not a setting: the id names the home to every receiver
    rules = api_hub.hub.config.alerts.rules
    assert rules.door_open.max_open == timedelta(minutes=20)
    assert [w.max_quiet for w in rules.inactivity.windows] == [timedelta(hours=10), timedelta(hours=13)]
    assert (rules.night_activity.start.isoformat(), rules.night_activity.end.isoformat()) == (
        "01:00:00",
        "04:30:00",
    )
    # clearing the optional fields
    status, body = await _put(http, api_hub.url, api_hub.tokens[Scope.ADMIN], NEW | {"address": None})
    assert status == 200 and "address" not in body and api_hub.hub.config.home.address is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"division_code": "11010"}, "body.division_code"),
        ({"division_code": "1101050"}, "body.division_code"),
        ({"name": ""}, "body.name"),
        ({"door_open_minutes": 0}, "body.door_open_minutes"),
        ({"door_open_minutes": "15"}, "body.door_open_minutes"),
        ({"door_open_minutes": 15.5}, "body.door_open_minutes"),
        ({"door_open_minutes": True}, "body.door_open_minutes"),
        ({"night_start": "25:00"}, "body.night_start"),
        ({"inactivity_windows": []}, "body.inactivity_windows"),
        (
            {"inactivity_windows": [{"start": "7:00", "end": "21:00", "max_quiet_minutes": 60}]},
            "body.inactivity_windows[0].start",
        ),
        (
            {"inactivity_windows": [{"start": "07:00", "end": "21:00", "max_quiet_minutes": 0}]},
            "body.inactivity_windows[0].max_quiet_minutes",
        ),
        ({"timezone": "UTC"}, "body.timezone"),
        ({"contacts": [{"name": "女儿", "phone": "call me"}]}, "body.contacts[0].phone"),
        ({"contacts": [{"name": "", "phone": "13800138000"}]}, "body.contacts[0].name"),
        ({"room_names": {"bedroom": ""}}, "body.room_names.bedroom"),
    ],
)
async def test_invalid_settings_name_the_field_and_change_nothing(
    api_hub: Harness, http: aiohttp.ClientSession, change: dict[str, Any], field: str
) -> None:
    before = await _get(http, api_hub, api_hub.tokens[Scope.READ])
    status, problem = await _put(http, api_hub.url, api_hub.tokens[Scope.ADMIN], NEW | change)
    assert status == 422 and problem["code"] == "invalid_params"
    assert [p["name"] for p in problem["invalid-params"]] == [field]
    assert await _get(http, api_hub, api_hub.tokens[Scope.READ]) == before


async def test_a_whole_number_may_be_written_as_a_json_float(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    status, body = await _put(
        http, api_hub.url, api_hub.tokens[Scope.ADMIN], NEW | {"door_open_minutes": 20.0}
    )
    assert status == 200 and body["door_open_minutes"] == 20


async def test_a_missing_field_is_named(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    body = {k: v for k, v in NEW.items() if k != "door_open_minutes"}
    status, problem = await _put(http, api_hub.url, api_hub.tokens[Scope.ADMIN], body)
    assert status == 422 and problem["invalid-params"][0]["name"] == "body.door_open_minutes"


async def test_saving_needs_admin(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    status, problem = await _put(http, api_hub.url, api_hub.tokens[Scope.CONTROL], NEW)
    assert status == 403, problem
    assert api_hub.hub.config.home.name == "My home"


async def test_settings_survive_a_restart(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_api_hub(tmp_path) as first:
        status, _ = await _put(http, first.url, first.tokens[Scope.ADMIN], NEW)
        assert status == 200
    async with running_api_hub(tmp_path) as second:
        # the config file (here: defaults) still says "My home": the saved settings win
        assert second.hub.config.home.name == NEW["name"]
        assert second.hub.config.home.division_code == "110105"
        assert await _get(http, second, second.tokens[Scope.READ]) == NEW


async def test_a_broken_stored_row_leaves_the_config_in_force(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_api_hub(tmp_path) as first:
        await first.hub.storage.execute("INSERT INTO meta (key, value) VALUES ('settings', '{\"name\": 5}')")
    async with running_api_hub(tmp_path) as second:
        assert (await _get(http, second, second.tokens[Scope.READ]))["name"] == "My home"


async def test_every_save_is_audited_with_the_token(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    await _put(http, api_hub.url, api_hub.tokens[Scope.ADMIN], NEW)
    headers = {"Authorization": f"Bearer {api_hub.tokens[Scope.ADMIN]}"}
    async with http.get(api_hub.url + "/audit", headers=headers) as resp:
        items = (await resp.json())["items"]
    [row] = [i for i in items if i["action"] == "settings.updated"]
    assert re.fullmatch(r"token:[^(]+\(test-admin\)", row["actor"])
    changes = row["detail"]["changes"]
    assert changes["name"] == {"from": "My home", "to": NEW["name"]}
    assert changes["division_code"] == {"from": None, "to": "110105"}
    assert changes["door_open_minutes"] == {"from": 15, "to": 20}
    assert "night_start" in changes and "address" in changes


# ---------------------------------------------------------------- live effect on CAP and the engine


def _with_api(services: list[ApiService]) -> Callable[[Hub], None]:
    def add(hub: Hub) -> None:
        api = ApiService(TEST_SETTINGS, host="127.0.0.1", port=0)
        services.append(api)
        hub.add_service(api)

    return add


async def _admin(api: ApiService) -> str:
    _, secret = await api.context.tokens.create("resident", [Scope.ADMIN])
    return secret


async def test_cap_uses_the_new_division_code_and_address(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    apis: list[ApiService] = []
    async with running_home(
        tmp_path, home={"id": "flat-12", "division_code": "110101"}, extra=_with_api(apis)
    ) as home:
        # bridges are built once at start-up (as the outbox does) and must see the change
        cap = build_bridges(home.hub, home.hub.config.alerts)[Transport.CAP_HTTP]
        assert isinstance(cap, CapHttpBridge)
        status, _ = await _put(http, apis[0].url, await _admin(apis[0]), NEW)
        assert status == 200
        area = ET.fromstring(cap.render(entry_for(sample_alert()))).find("{*}info/{*}area")
        assert area is not None
        ns = {"cap": CAP_NS}
        assert area.findtext("cap:geocode/cap:value", namespaces=ns) == "110105"
        assert area.findtext("cap:areaDesc", namespaces=ns) == NEW["address"]


async def test_a_running_inactivity_timer_follows_the_new_limit(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    apis: list[ApiService] = []
    rules = {"inactivity": {"windows": [{"start": "00:00", "end": "00:00", "max_quiet": "12h"}]}}
    async with running_home(tmp_path, alerts={"rules": rules}, extra=_with_api(apis)) as home:
        await _quiet_since_now(home)
        await home.advance(timedelta(hours=1))
        assert home.open_alerts() == []
        whole_day = {"start": "00:00", "end": "00:00", "max_quiet_minutes": 120}
        status, _ = await _put(
            http, apis[0].url, await _admin(apis[0]), NEW | {"inactivity_windows": [whole_day]}
        )
        assert status == 200
        assert home.engine.config.rules.inactivity.windows[0].max_quiet == timedelta(hours=2)
        await home.advance(timedelta(minutes=59))
        assert home.open_alerts() == []
        await home.advance(timedelta(minutes=2))
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.INACTIVITY and "2h" in (alert.summary or "")


async def _quiet_since_now(home: TestHome) -> None:
    home.add(MOTION)
    home.set(MOTION, "dhi.motion", motion=True)
    home.set(MOTION, "dhi.motion", motion=False)
    await home.settle()


async def test_other_rule_settings_are_kept(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    apis: list[ApiService] = []
    rules = {"door_open": {"rooms": ["entrance"]}, "night_activity": {"exit_rooms": ["hall"]}}
    async with running_home(tmp_path, alerts={"rules": rules}, extra=_with_api(apis)) as home:
        await _put(http, apis[0].url, await _admin(apis[0]), NEW)
        live = home.engine.config.rules
        assert live.door_open.rooms == ["entrance"] and live.door_open.max_open == timedelta(minutes=20)
        assert live.night_activity.exit_rooms == ["hall"]


# ---------------------------------------------------------------- the model


@given(st.one_of(st.text(max_size=14), st.from_regex(r"[0-9]{4,14}", fullmatch=True)))
def test_division_code_is_checked_exactly_as_in_the_config_file(code: str) -> None:
    try:
        HomeConfig(division_code=code)
        config_ok = True
    except ValidationError:
        config_ok = False
    try:
        HomeSettings.model_validate(NEW | {"division_code": code})
        api_ok = True
    except ValidationError:
        api_ok = False
    assert api_ok == config_ok


@given(st.sampled_from(["110105", "110105001", "110105001002"]))
def test_valid_division_codes_are_accepted(code: str) -> None:
    assert HomeSettings.model_validate(NEW | {"division_code": code}).division_code == code
    assert re.fullmatch(DIVISION_CODE, code)


async def test_saved_thresholds_reach_an_engine_started_before_the_api(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    # ``dhome run`` starts the alert engine before the API, which restores the saved settings
    apis: list[ApiService] = []
    async with running_home(tmp_path, extra=_with_api(apis)) as home:
        await _put(http, apis[0].url, await _admin(apis[0]), NEW)
    async with running_home(tmp_path, extra=_with_api(apis)) as home:
        live = home.engine.config.rules
        assert live.door_open.max_open == timedelta(minutes=20)
        assert [w.max_quiet for w in live.inactivity.windows] == [timedelta(hours=10), timedelta(hours=13)]
        assert home.hub.config.home.division_code == "110105"
