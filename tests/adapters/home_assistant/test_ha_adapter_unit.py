"""The adapter's handling of what Home Assistant sends, driven directly: bad input is a clear,
counted error and the adapter keeps going; commands it cannot express are refused clearly.

``ScriptedHa`` stands in for the WebSocket session only (canned registry answers, recorded
service calls); the live tests (test_ha_import_live.py) run the same paths against a real HA."""

from __future__ import annotations

from typing import Any, cast

from adapters.home_assistant import HomeAssistantAdapter, HomeAssistantConfig
from adapters.home_assistant.ws import CommandFailed, HaConnection
from dhi.models import CommandRequest
from tests.adapters.home_assistant.test_ha_mapping import BUTTON, FAN, SIREN, THERMOSTAT, VALVE
from tests.support.recording import RecordingContext

STATES = [
    {"entity_id": "sensor.hall_t", "state": "21.5", "attributes": {"device_class": "temperature", "unit_of_measurement": "°C", "friendly_name": "Hall"}},
    {"entity_id": "switch.plug", "state": "off", "attributes": {"friendly_name": "Plug"}},
    {"entity_id": "input_boolean.helper", "state": "on", "attributes": {}},
]  # fmt: skip


class ScriptedHa:
    """A stand-in for ``HaConnection`` (fake: no HA process here) answering the registry reads."""

    url = "ws://ha.invalid/api/websocket"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_with: CommandFailed | None = None
        self.states: list[dict[str, Any]] = STATES
        self.config: dict[str, Any] = {"unit_system": {"temperature": "°C"}, "state": "RUNNING"}

    async def command(self, type_: str, **payload: Any) -> Any:
        answers: dict[str, Any] = {
            "config/entity_registry/list": [],
            "config/device_registry/list": [],
            "config/area_registry/list": [],
            "get_states": self.states,
            "get_config": self.config,
        }
        if type_ == "call_service":
            self.calls.append(payload)
            if self.fail_with is not None:
                raise self.fail_with
            return {"context": {}}
        return answers[type_]


async def started(ha: ScriptedHa | None = None) -> tuple[HomeAssistantAdapter, RecordingContext, ScriptedHa]:
    adapter = HomeAssistantAdapter(HomeAssistantConfig(url="http://ha.invalid:8123", token="t"))
    ctx = RecordingContext(adapter="ha")
    ha = ha or ScriptedHa()
    adapter._ctx, adapter._conn = ctx, cast(HaConnection, ha)
    await adapter._describe_all()
    return adapter, ctx, ha


def changed(entity_id: str, state: str, **attrs: Any) -> dict[str, Any]:
    new = {"entity_id": entity_id, "state": state, "attributes": attrs}
    return {
        "event_type": "state_changed",
        "data": {"entity_id": entity_id, "old_state": new, "new_state": new},
    }


async def test_bad_input_is_counted_and_the_adapter_keeps_going() -> None:
    adapter, ctx, _ = await started()
    assert sorted(ctx.devices) == ["ha:sensor.hall_t", "ha:switch.plug"]  # helpers are not devices
    assert not ctx.rejected and not ctx.invalid

    adapter._on_state_changed({"event_type": "state_changed", "data": "nonsense"})
    adapter._on_state_changed(
        changed("sensor.hall_t", "warm", device_class="temperature", unit_of_measurement="°C")
    )
    adapter._on_state_changed(
        changed("sensor.hall_t", "-300", device_class="temperature", unit_of_measurement="°C")
    )
    reasons = [i.reason for i in ctx.invalid]
    assert len(reasons) == 3, reasons
    assert "data.entity_id" in reasons[0]
    assert "sensor.hall_t state: expected a number, got 'warm'" in reasons[1]
    assert "main/dhi.temperature.temperature" in reasons[2]  # out of the catalog's range, named

    adapter._on_state_changed(
        changed("sensor.hall_t", "22.5", device_class="temperature", unit_of_measurement="°C")
    )
    assert ctx.states[-1].properties == {"temperature": 22.5}
    adapter._on_state_changed(changed("sensor.hall_t", "unavailable"))
    assert ctx.availability[-1].device == "ha:sensor.hall_t" and ctx.availability[-1].available is False
    assert not ctx.rejected


async def test_commands_become_service_calls_or_clear_errors() -> None:
    adapter, _, ha = await started()

    def cmd(command: str, **kw: Any) -> CommandRequest:
        base: dict[str, Any] = {
            "id": "c",
            "device": "ha:switch.plug",
            "component": "main",
            "capability": "dhi.on_off",
        }
        return CommandRequest(**(base | {"command": command} | kw))

    ok = await adapter.execute(cmd("on"))
    assert ok.status == "ok"
    assert ha.calls[-1] == {
        "domain": "switch",
        "service": "turn_on",
        "service_data": {},
        "target": {"entity_id": "switch.plug"},
    }
    assert (await adapter.execute(cmd("set", params={"on": False}))).status == "ok"
    assert ha.calls[-1]["service"] == "turn_off"

    unknown = await adapter.execute(cmd("on", device="ha:nothing"))
    assert unknown.error is not None and unknown.error.code == "unknown_device"
    wrong_cap = await adapter.execute(cmd("on", capability="dhi.level"))
    assert wrong_cap.error is not None and wrong_cap.error.code == "unsupported"

    ha.fail_with = CommandFailed("call_service", "service_validation_error", "option not valid")
    refused = await adapter.execute(cmd("off"))
    assert refused.error is not None and refused.error.code == "invalid_params"
    assert "option not valid" in refused.error.message


async def test_a_colour_light_maps_its_supported_modes_and_takes_colour_commands() -> None:
    light = {
        "entity_id": "light.desk",
        "state": "on",
        "attributes": {
            "friendly_name": "Desk",
            "supported_color_modes": ["color_temp", "hs"],
            "brightness": 255,
            "color_temp_kelvin": 2700,
            "hs_color": [30.0, 50.0],
            "supported_features": 0,
        },
    }
    adapter, ctx, ha = await started()
    home = [*STATES, light]
    original = ha.command

    async def with_light(type_: str, **payload: Any) -> Any:
        return home if type_ == "get_states" else await original(type_, **payload)

    ha.command = with_light  # type: ignore[method-assign]
    await adapter._describe_all()
    desc = ctx.devices["ha:light.desk"]
    assert set(desc.capability_ids()) == {"dhi.on_off", "dhi.level", "dhi.color_temperature", "dhi.color"}
    reported = {
        (s.capability, k): v
        for s in ctx.states
        if s.device == "ha:light.desk"
        for k, v in s.properties.items()
    }
    assert reported[("dhi.level", "level")] == 100
    assert reported[("dhi.color_temperature", "color_temperature")] == 2700
    assert (reported[("dhi.color", "hue")], reported[("dhi.color", "saturation")]) == (30.0, 50.0)

    ok = await adapter.execute(
        CommandRequest(
            id="l1",
            device="ha:light.desk",
            component="main",
            capability="dhi.color_temperature",
            command="set_color_temperature",
            params={"color_temperature": 4000, "transition_time": 2},
        )
    )
    assert ok.status == "ok", ok
    assert ha.calls[-1]["service"] == "turn_on"
    assert ha.calls[-1]["service_data"] == {"color_temp_kelvin": 4000, "transition": 2}


async def test_a_number_in_another_unit_is_set_back_in_that_unit() -> None:
    """HA shows the overload limit in kW, the catalog holds W: dhome reads 2.5 kW as 2500 W,
    and setting 3000 W asks HA for 3 (kW), not 3000."""
    limit = {
        "entity_id": "number.plug_overload",
        "state": "2.5",
        "attributes": {"device_class": "power", "unit_of_measurement": "kW", "friendly_name": "Overload"},
    }
    adapter, ctx, ha = await started()
    original = ha.command

    async def with_number(type_: str, **payload: Any) -> Any:
        return [*STATES, limit] if type_ == "get_states" else await original(type_, **payload)

    ha.command = with_number  # type: ignore[method-assign]
    await adapter._describe_all()
    shown = [s.properties for s in ctx.states if s.device == "ha:number.plug_overload"]
    assert shown[-1] == {"over_power_threshold": 2500}
    ok = await adapter.execute(
        CommandRequest(
            id="n1", device="ha:number.plug_overload", component="main",
            capability="dhi.electrical_protection", command="set", params={"over_power_threshold": 3000},
        )
    )  # fmt: skip
    assert ok.status == "ok", ok
    assert ha.calls[-1]["service"] == "set_value" and ha.calls[-1]["service_data"] == {"value": 3}


async def with_states(*extra: dict[str, Any]) -> tuple[HomeAssistantAdapter, RecordingContext, ScriptedHa]:
    adapter, ctx, ha = await started()
    original = ha.command

    async def more(type_: str, **payload: Any) -> Any:
        return [*STATES, *extra] if type_ == "get_states" else await original(type_, **payload)

    ha.command = more  # type: ignore[method-assign]
    await adapter._describe_all()
    return adapter, ctx, ha


async def test_fan_valve_and_siren_commands_become_their_service_calls() -> None:
    adapter, _, ha = await with_states(FAN, VALVE, SIREN)

    async def run(device: str, capability: str, command: str, **params: Any) -> tuple[str, dict[str, Any]]:
        result = await adapter.execute(CommandRequest(id="f", device=device, component="main",
                                                      capability=capability, command=command, params=params))  # fmt: skip
        assert result.status == "ok", result
        return ha.calls[-1]["service"], ha.calls[-1]["service_data"]

    fan = "ha:fan.bedroom"
    assert await run(fan, "dhi.fan", "set", mode="off") == ("turn_off", {})
    assert await run(fan, "dhi.fan", "set", mode="on") == ("turn_on", {})
    assert await run(fan, "dhi.fan", "set", mode="high") == ("set_preset_mode", {"preset_mode": "high"})
    assert await run(fan, "dhi.fan", "set", speed=40) == ("set_percentage", {"percentage": 40})
    assert await run(fan, "dhi.fan", "set", oscillation=False) == ("oscillate", {"oscillating": False})
    assert await run(fan, "dhi.fan", "set", direction="reverse") == (
        "set_direction",
        {"direction": "reverse"},
    )
    assert await run(fan, "dhi.fan", "step", direction="increase") == ("increase_speed", {})
    valve = "ha:valve.garden"
    assert await run(valve, "dhi.valve", "open") == ("open_valve", {})
    assert await run(valve, "dhi.valve", "open", level=30) == ("set_valve_position", {"position": 30})
    assert await run(valve, "dhi.valve", "close") == ("close_valve", {})
    siren = "ha:siren.hall"
    assert await run(siren, "dhi.siren", "start", duration=30, volume="high") == (
        "turn_on", {"duration": 30, "volume_level": 0.75},
    )  # fmt: skip
    assert await run(siren, "dhi.siren", "stop") == ("turn_off", {})
    refused = await adapter.execute(CommandRequest(id="x", device=siren, component="main", capability="dhi.siren",
                                                   command="start", params={"mode": "fire"}))  # fmt: skip
    assert (
        refused.error is not None
        and refused.error.code == "invalid_params"
        and "alarm mode" in refused.error.message
    )


async def test_an_event_entity_firing_is_a_dhi_event() -> None:
    adapter, ctx, _ = await with_states(BUTTON)
    assert not ctx.events  # the state read at start is a past event: nothing fires
    old = dict(BUTTON)

    def fired(stamp: str, event_type: str) -> None:
        new = {**BUTTON, "state": stamp, "attributes": {**BUTTON["attributes"], "event_type": event_type}}
        adapter._on_state_changed({"event_type": "state_changed",
                                   "data": {"entity_id": BUTTON["entity_id"], "old_state": old, "new_state": new}})  # fmt: skip
        old.update(new)

    fired("2025-04-01T10:00:05.000+00:00", "double_press")
    fired("2025-04-01T10:00:09.000+00:00", "initial_press")  # no DHI event: counted, not guessed
    assert [(e.capability, e.event, e.payload) for e in ctx.events] == [("dhi.button", "double_pressed", {})]
    assert "initial_press" in ctx.invalid[-1].reason
    assert ctx.states[-1].properties == {"last_action": "initial_press"}


async def test_a_fahrenheit_home_is_read_and_set_in_celsius() -> None:
    """HA configured in US units shows the hall thermostat at 68 °F, set to 71.6 °F: dhome sees
    20 °C and 22 °C, a change to 69.8 °F reads 21 °C, and setting 23 °C asks HA for 73.4 (°F)."""
    ha = ScriptedHa()
    ha.states = [*STATES, THERMOSTAT]
    ha.config = {"unit_system": {"temperature": "°F"}, "state": "RUNNING"}
    adapter, ctx, _ = await started(ha)
    shown = [s.properties for s in ctx.states if s.device == "ha:climate.hall"]
    assert shown[-1] == {"system_mode": "heat", "local_temperature": 20, "heating_setpoint": 22}
    adapter._on_state_changed(
        changed("climate.hall", "heat", **{**THERMOSTAT["attributes"], "temperature": 69.8})
    )
    assert ctx.states[-1].properties["heating_setpoint"] == 21
    ok = await adapter.execute(
        CommandRequest(
            id="t1", device="ha:climate.hall", component="main",
            capability="dhi.thermostat", command="set", params={"heating_setpoint": 23},
        )
    )  # fmt: skip
    assert ok.status == "ok", ok
    assert ha.calls[-1]["service"] == "set_temperature"
    assert ha.calls[-1]["service_data"] == {"temperature": 73.4}
    assert not ctx.invalid


async def test_a_config_without_a_unit_system_is_reported_and_read_as_celsius() -> None:
    ha = ScriptedHa()
    ha.states = [*STATES, THERMOSTAT]
    ha.config = {"state": "RUNNING"}
    _, ctx, _ = await started(ha)
    assert [s.properties["heating_setpoint"] for s in ctx.states if s.device == "ha:climate.hall"] == [71.6]
    assert any("unit_system.temperature" in i.reason for i in ctx.invalid)
