"""Which HA entities a device becomes, and how HA's payloads read back (pure: no broker)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.virtual.capdevices import capability_devices
from dhi.catalog import check_params, default_catalog
from dhi.errors import HubError
from dhi.models import CapabilityInstance, Component, DeviceDescription
from dhi.models.command import SET_COMMAND
from hub.bridges.home_assistant.entities import (
    Entity,
    PayloadError,
    Values,
    decode_light,
    encode_light,
    plan_device,
)
from hub.bridges.home_assistant.service import GUARDED

CATALOG = default_catalog()


def dev(*caps: str | CapabilityInstance, dev_id: str = "virtual:x") -> DeviceDescription:
    insts = [CapabilityInstance(id=c) if isinstance(c, str) else c for c in caps]
    return DeviceDescription(id=dev_id, name="X", components=[Component(capabilities=insts)])


def plan(desc: DeviceDescription, values: Values | None = None, control: bool = False) -> list[Entity]:
    return plan_device(
        desc, CATALOG, lambda comp: values or {}, control=lambda cap: control or cap not in GUARDED
    )


def by_domain(entities: list[Entity]) -> dict[str, list[Entity]]:
    out: dict[str, list[Entity]] = {}
    for e in entities:
        out.setdefault(e.domain, []).append(e)
    return out


def test_a_dimmable_colour_light_is_one_json_light() -> None:
    ents = by_domain(plan(dev("dhi.on_off", "dhi.level", "dhi.color_temperature", "dhi.color")))
    (light,) = ents["light"]
    assert "switch" not in ents and "number" not in ents
    assert light.config["schema"] == "json"
    assert light.config["supported_color_modes"] == ["xy", "color_temp"]
    assert light.config["brightness"] is True and light.config["color_temp_kelvin"] is True


def test_a_plain_on_off_is_a_switch_and_a_contact_is_an_inverted_opening() -> None:
    ents = by_domain(plan(dev("dhi.on_off", "dhi.contact")))
    assert [e.config.get("device_class") for e in ents["switch"]] == ["switch"]
    (opening,) = ents["binary_sensor"]
    assert opening.config["device_class"] == "opening"
    closed = opening.states[0].encode({("dhi.contact", "contact"): True})
    opened = opening.states[0].encode({("dhi.contact", "contact"): False})
    assert (closed, opened) == ("OFF", "ON")


def test_sensors_carry_device_class_unit_and_state_class() -> None:
    (temp, *_rest) = [e for e in plan(dev("dhi.temperature")) if e.domain == "sensor"]
    assert temp.config["device_class"] == "temperature"
    assert temp.config["unit_of_measurement"] == "°C"
    assert temp.config["state_class"] == "measurement"
    assert temp.states[0].encode({("dhi.temperature", "temperature"): 21.25}) == "21.25"
    assert temp.states[0].encode({}) == "None"  # unknown until the device reports


@pytest.mark.parametrize("control", [False, True])
def test_locks_are_read_only_unless_the_resident_enables_control(control: bool) -> None:
    ents = by_domain(plan(dev("dhi.lock"), control=control))
    if control:
        (lock,) = ents["lock"]
        assert lock.commands, "HA may lock and unlock"
    else:
        assert "lock" not in ents
        (shown,) = [e for e in ents["binary_sensor"] if e.config["device_class"] == "lock"]
        assert shown.states[0].encode({("dhi.lock", "lock_state"): "unlocked"}) == "ON"  # HA: on = unlocked
    assert all(not e.commands for e in ents.get("binary_sensor", []))


def test_a_read_only_valve_has_no_command_topic() -> None:
    (valve,) = by_domain(plan(dev("dhi.valve")))["valve"]
    assert valve.commands == []
    (valve,) = by_domain(plan(dev("dhi.valve"), control=True))["valve"]
    assert [c.topic_key for c in valve.commands] == ["command_topic"]


def test_buttons_become_event_entities_with_their_event_types() -> None:
    inst = CapabilityInstance(id="dhi.button", events=["pressed", "double_pressed"])
    (event,) = by_domain(plan(dev(inst)))["event"]
    assert event.config["event_types"] == ["pressed", "double_pressed"]
    assert event.events_of == "dhi.button"


def test_select_options_come_from_the_devices_list() -> None:
    desc = dev(CapabilityInstance(id="dhi.mode"))
    assert "select" not in by_domain(plan(desc)), "no options known yet: no select"
    (select,) = by_domain(plan(desc, {("dhi.mode", "modes"): ["eco", "boost"]}))["select"]
    assert select.config["options"] == ["eco", "boost"]
    assert select.commands[0].decode("boost", {})[0].command == "set_mode"


TEMPLATES = list(capability_devices(CATALOG).values())


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.native_id)
def test_every_capability_device_plans_entities_whose_commands_the_catalog_accepts(template: Any) -> None:
    desc = template.description("virtual")
    values = {(cap, prop): v for (_, cap), props in template.initial.items() for prop, v in props.items()}
    for key, v in list(values.items()):  # a device lists its modes, presets, effects once it runs
        if key[1] in ("modes", "presets", "effects", "sounds") and not v:
            values[key] = ["eco", "comfort"]
    planned = 0
    for control in (False, True):
        for entity in plan(desc, values, control=control):
            planned += 1
            assert entity.key and entity.component
            json.dumps(entity.config)  # what is published must be JSON
            for state in entity.states:
                body = state.encode(values)
                assert body is None or isinstance(body, str)
            for cmd_field in entity.commands:
                probes = [str(entity.config.get("min", 0))] if entity.domain == "number" else PROBES
                for probe in probes:
                    try:
                        cmds = cmd_field.decode(probe, values)
                    except PayloadError:
                        continue
                    for cmd in cmds:
                        _check_command(desc.id, cmd.capability, cmd.command, cmd.params)
    none = CATALOG[desc.components[0].capabilities[0].id].mappings.home_assistant_none
    assert planned or none is not None, f"{desc.id}: the catalog exports it, yet no entity was planned"


#: what HA sends on command topics (numbers are probed at the entity's own minimum)
PROBES = (
    "ON",
    "OFF",
    "PRESS",
    "OPEN",
    "CLOSE",
    "STOP",
    "LOCK",
    "UNLOCK",
    "heat",
    "install",
    "start",
    "eco",
    "return_to_base",
)


def _check_command(device: str, capability: str, command: str, params: dict[str, Any]) -> None:
    cap = CATALOG[capability]
    if command == SET_COMMAND:
        for name in params:
            prop = cap.property(name)
            assert prop is not None and prop.writable, f"{device}: set {capability}.{name}"
        return
    definition = cap.command(command)
    assert definition is not None, f"{device}: {capability}.{command}"
    try:
        check_params(definition.params, params)
    except HubError as exc:
        raise AssertionError(f"{device}: {capability}.{command} {params} -> {exc}") from None


LEVEL = st.floats(min_value=0, max_value=100, allow_nan=False)
KELVIN = st.integers(min_value=1000, max_value=20000)
UNIT = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(on=st.booleans(), level=LEVEL, x=UNIT, y=UNIT)
def test_light_state_reads_back_as_the_commands_that_make_it(
    on: bool, level: float, x: float, y: float
) -> None:
    values: Values = {
        ("dhi.on_off", "on"): on, ("dhi.level", "level"): level, ("dhi.color", "color_mode"): "xy",
        ("dhi.color", "x"): x, ("dhi.color", "y"): y,
    }  # fmt: skip
    state = json.loads(encode_light(values) or "{}")
    assert state["state"] == ("ON" if on else "OFF")
    cmds = {c.command: c.params for c in decode_light(json.dumps(state | {"state": "ON"}), {})}
    assert cmds["set_level"]["level"] == round(level)
    assert (cmds["set_xy"]["x"], cmds["set_xy"]["y"]) == (x, y)
    assert "on" in cmds


@given(kelvin=KELVIN)
def test_colour_temperature_is_kelvin_both_ways(kelvin: int) -> None:
    state = json.loads(encode_light({("dhi.color_temperature", "color_temperature"): kelvin}) or "{}")
    assert state["color_temp"] == kelvin and state["color_mode"] == "color_temp"
    (_on, ct) = decode_light(json.dumps({"state": "ON", "color_temp": kelvin}), {})
    assert ct.params["color_temperature"] == kelvin


@settings(max_examples=200)
@given(st.text(max_size=60) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_any_command_payload_is_read_or_refused_never_a_crash(payload: str) -> None:
    for entity in plan(
        dev("dhi.on_off", "dhi.level", "dhi.window_covering", "dhi.fan", "dhi.thermostat"), control=True
    ):
        for cmd_field in entity.commands:
            with contextlib.suppress(PayloadError):
                cmd_field.decode(payload, {})


@given(speed=st.floats(0, 100) | st.integers(0, 100))
def test_a_fan_percentage_is_an_integer_home_assistant_reads(speed: float) -> None:
    """HA's MQTT fan reads its percentage with ``int()``: "0.0" was refused in the HA log."""
    (fan,) = by_domain(plan(dev("dhi.fan")))["fan"]
    [field] = [f for f in fan.states if f.topic_key == "percentage_state_topic"]
    payload = field.encode({("dhi.fan", "speed"): speed})
    assert payload is not None and int(payload) == round(speed)
    assert field.encode({}) == "None"
