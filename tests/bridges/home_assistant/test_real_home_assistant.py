"""Acceptance (issue 22, part 1) against a real Home Assistant 2025.4 and a Mosquitto that
requires a login: every device of the virtual home — the demo flat plus one device per catalog
capability — appears in HA's entity registry with the domain, device class and unit of its
discovery config, HA's own schemas accept every payload, HA's state follows the device, and a
service call from HA toggles a virtual light whose new state comes back (audited as the share's
command)."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.virtual.capdevices import native_id_for
from dhi.catalog import default_catalog
from dhi.models.command import CommandRequest
from hub.consent import audit
from tests.bridges.home_assistant.support import running
from tests.support.homeassistant import HomeAssistant, MqttLogin
from tests.support.mosquitto import AUTH_USERS, Mosquitto

pytestmark = pytest.mark.slow

DEMO_ROOMS = ["living_room", "bedroom", "kitchen", "bathroom", "hallway"]
#: a robot cleaner and a colour lamp with effects: platforms the demo flat lacks
STUDY = Path(__file__).with_name("robot_home.yaml")
LIGHT = "virtual:living-light"
#: the resident lets HA operate these (the other locks, valves and sirens are read-only)
CONTROL = ["virtual:entrance-lock", "virtual:water-valve", "virtual:cap-siren", "virtual:cap-lock"]


class HaSocket:
    """HA's WebSocket API with the owner's token (what an integration's UI would call)."""

    def __init__(self, ha: HomeAssistant) -> None:
        self.ha = ha
        self._id = 0

    async def call(self, msg_type: str, **data: Any) -> Any:
        async with aiohttp.ClientSession() as session, session.ws_connect(self.ha.ws_url) as ws:
            await ws.receive_json(timeout=10)
            await ws.send_json({"type": "auth", "access_token": self.ha.token})
            assert (await ws.receive_json(timeout=10))["type"] == "auth_ok"
            self._id += 1
            await ws.send_json({"id": self._id, "type": msg_type, **data})
            while True:
                answer = await ws.receive_json(timeout=30)
                if answer.get("id") == self._id:
                    assert answer["success"], answer
                    return answer["result"]


async def eventually(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    last: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = check()
                if inspect.isawaitable(last):
                    last = await last
                if last:
                    return last
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout:g} s (last: {str(last)[:500]})") from None


async def test_the_virtual_home_in_home_assistant(
    tmp_path: Path, mosquitto_auth: Mosquitto, homeassistant_factory: Callable[..., HomeAssistant]
) -> None:
    broker = {"url": mosquitto_auth.url, "username": "dhome", "password": AUTH_USERS["dhome"]}
    # the demo flat by its rooms, and every capability device (they have no room) by id
    cap_devices = [f"virtual:{native_id_for(cap)}" for cap in default_catalog()]
    block = {"broker": broker, "rooms": [*DEMO_ROOMS, "study"], "devices": cap_devices, "control": CONTROL}
    study = [{"type": "virtual", "name": "study", "config": {"home": str(STUDY)}}]
    virtual = {"home": "demo", "all_capabilities": True}
    async with running(tmp_path, block, virtual=virtual, more=study) as (hub, bridge):
        await eventually(
            lambda: LIGHT in bridge._exported and set(bridge._exported) == set(bridge._scope()),
            "every shared device exported",
        )
        assert len(bridge._exported) > len(cap_devices)
        expected = {
            json.loads(body)["unique_id"]: (topic.split("/")[1], json.loads(body))
            for exported in bridge._exported.values()
            for topic, body in exported.configs.items()
        }
        ha = homeassistant_factory(
            mqtt=MqttLogin(
                mosquitto_auth.host, mosquitto_auth.port, "homeassistant", AUTH_USERS["homeassistant"]
            ),
            home=None,
        )
        ws = HaSocket(ha)

        async def registered() -> dict[str, dict[str, Any]]:
            entries = await ws.call("config/entity_registry/list")
            return {
                e["unique_id"]: e for e in entries if e["platform"] == "mqtt" and e["unique_id"] in expected
            }

        domains = {d for d, _ in expected.values()}
        assert domains >= {"sensor", "binary_sensor", "switch", "light", "cover", "lock", "climate", "fan", "valve",
                           "siren", "event", "button", "number", "select", "update", "vacuum"}, domains  # fmt: skip
        seen: dict[str, dict[str, Any]] = {}

        async def complete() -> dict[str, dict[str, Any]] | None:
            seen.update(await registered())
            return seen if len(seen) >= len(expected) else None

        try:
            registry = await eventually(
                complete, f"{len(expected)} dhome entities in HA's registry", timeout=240
            )
        except AssertionError:
            missing = sorted(set(expected) - set(seen))
            refused = [
                line for line in ha.log_tail(5000).splitlines() if "ERROR" in line or "Invalid" in line
            ]
            raise AssertionError(f"not in HA: {missing[:10]}\n" + "\n".join(refused[-15:])) from None
        errors = [
            line for line in ha.log_tail(5000).splitlines()
            if re.search(r"\b(ERROR|WARNING)\b.*\b(mqtt|discovery)\b", line, re.I) and "dhome" in line.lower()
        ]  # fmt: skip
        assert not errors, "HA refused discovery payloads:\n" + "\n".join(errors[:20])

        states = {s["entity_id"]: s for s in ha.api("GET", "/api/states")}
        for unique_id, (domain, config) in expected.items():
            entry = registry[unique_id]
            assert entry["entity_id"].split(".")[0] == domain, unique_id
            attributes = states[entry["entity_id"]]["attributes"]
            if "device_class" in config and domain not in ("event",):
                assert attributes.get("device_class") == config["device_class"], unique_id
            if "unit_of_measurement" in config:
                assert attributes.get("unit_of_measurement") == config["unit_of_measurement"], unique_id
            if "state_class" in config:
                assert attributes.get("state_class") == config["state_class"], unique_id

        # the hub itself: one alert sensor per kind and the alert event, for HA automations
        hub_entities = await ws.call("config/entity_registry/list")
        marks = {e["unique_id"] for e in hub_entities if e["platform"] == "mqtt"}
        assert {"dhome:chen:hub:alert_smoke", "dhome:chen:hub:alerts"} <= marks

        # sensors show the device's reading, in its unit
        temp_id = registry["dhome:chen:virtual:living-climate:main_temperature_temperature_sensor"][
            "entity_id"
        ]

        def same_reading() -> bool:
            reading = hub.state.get("virtual:living-climate", "main", "dhi.temperature", "temperature")
            shown = ha.state(temp_id)["state"]
            if reading is None or shown in ("unknown", "unavailable"):
                return False
            return float(shown) == pytest.approx(reading.value)

        await eventually(same_reading, "HA shows the living room's temperature")

        light_id = registry["dhome:chen:virtual:living-light:main_light"]["entity_id"]
        # HA's state follows the device: a command through dhome's own path …
        await hub.execute(CommandRequest(id="t-on", device=LIGHT, capability="dhi.on_off", command="on"))
        await eventually(lambda: ha.state(light_id)["state"] == "on", "HA sees the light on")
        # … and a service call from HA toggles the virtual light, whose state comes back
        ha.call_service("light", "turn_off", entity_id=light_id)
        await eventually(
            lambda: (
                (sv := hub.state.get(LIGHT, "main", "dhi.on_off", "on")) is not None and sv.value is False
            ),
            "the virtual light switched off by HA",
        )
        await eventually(lambda: ha.state(light_id)["state"] == "off", "HA sees the light off again")
        ha.call_service("light", "turn_on", entity_id=light_id, brightness_pct=30)
        await eventually(
            lambda: ha.state(light_id)["attributes"].get("brightness") == round(30 * 255 / 100), "dimmed"
        )
        level = hub.state.get(LIGHT, "main", "dhi.level", "level")
        assert level is not None and abs(level.value - 30) <= 1
        # HA's service calls came in as the Home Assistant share's commands: each one audited
        await hub.storage.flush()
        sql, params = audit.select(action="command.*", limit=1000)
        rows = [audit.row_to_dict(r) for r in await hub.storage.fetchall(sql, params)]
        from_ha = [r for r in rows if r["detail"]["device"] == LIGHT]
        assert {(r["action"], r["detail"]["command"]) for r in from_ha} >= {
            ("command.executed", "off"), ("command.executed", "set_level"),
        }  # fmt: skip
        assert {(r["actor"], r["subscription"]) for r in rows} == {("home-assistant", "home-assistant")}
