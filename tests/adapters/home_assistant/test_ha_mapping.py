"""The catalog's Home Assistant rows read in reverse (HA entity -> DHI), without a live HA."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.home_assistant.mapping import EVENT_TYPES, UNIT_CONVERSIONS, dhi_event, fan_mode
from adapters.home_assistant.model import (
    VAGUE,
    Filters,
    describe,
    from_dhome,
    pick_row,
    read_state,
    value_converter,
)
from dhi.catalog import check_value, default_catalog
from dhi.errors import HubError
from dhi.home_assistant import COMPOSITE, FAN_PRESET_MODES, EntityRow, entity_rows
from dhi.models.catalog import PropertyDef, ValueType

CATALOG = default_catalog()
NO_FILTER = Filters(frozenset())


def _exported_simple(er: EntityRow) -> bool:
    """Rows the bridge exports as one entity whose state is one property."""
    return (
        er.row.export
        and er.row.domain not in COMPOSITE
        and er.row.domain in ("sensor", "binary_sensor", "switch", "number", "select")
        and er.prop is not None
        and er.row.device_class is not None
    )


SIMPLE = [er for er in entity_rows(CATALOG) if _exported_simple(er)]


def values_of(prop: PropertyDef) -> st.SearchStrategy[Any]:
    if prop.type is ValueType.BOOLEAN:
        return st.booleans()
    if prop.enum:
        return st.sampled_from(prop.enum)
    if prop.type in (ValueType.NUMBER, ValueType.INTEGER):
        lo = prop.minimum if prop.minimum is not None else -1e6
        hi = prop.maximum if prop.maximum is not None else 1e6
        if prop.type is ValueType.INTEGER:
            return st.integers(int(lo), int(hi))
        return st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 3))
    return st.text(min_size=1, max_size=20).filter(
        lambda s: s.strip() == s and s not in ("unknown", "unavailable")
    )


def ha_state(er: EntityRow, value: Any) -> str:
    """The state text the dhome → HA bridge shows for ``value`` (HA's conventions)."""
    if er.row.domain == "binary_sensor":
        return "on" if value in (er.row.on_when or [True]) else "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def test_there_are_rows_to_read_back() -> None:
    assert len(SIMPLE) > 30


@settings(max_examples=150, deadline=None)
@given(data=st.data(), er=st.sampled_from(SIMPLE))
def test_an_exported_entity_reads_back_as_its_capability(data: st.DataObject, er: EntityRow) -> None:
    """What the bridge exports for a capability comes back (a) as a row of the same HA domain
    and device class whenever HA's device class is telling and the entity no config/diagnostic
    one, (b) with the value the bridge showed when it is that capability's property, else a
    value of a compatible type; never as a guess between equals (then a vendor property)."""
    row = pick_row(
        CATALOG,
        er.row.domain,
        er.row.device_class,
        unit=er.unit,
        entity_category=er.row.entity_category,
        state_class=er.row.state_class,
    )
    if (er.row.domain, er.row.device_class) not in VAGUE and er.row.entity_category is None:
        assert row is not None, f"{er.capability.id}: {er.row.domain}/{er.row.device_class} not read back"
    if row is None:
        return
    assert (row.row.domain, row.row.device_class) == (er.row.domain, er.row.device_class)
    assert row.prop is not None and er.prop is not None
    value = data.draw(values_of(er.prop))
    if er.row.domain == "binary_sensor" and er.prop.type is not ValueType.BOOLEAN:
        return  # an enum shown as on/off keeps only which side of on_when it is on
    back = value_converter(row, er.unit, CATALOG)(ha_state(er, value))
    if (row.capability.id, row.prop.name) == (er.capability.id, er.prop.name):
        assert back == pytest.approx(value) if isinstance(value, float) else back == value
        check_value(row.prop, back, "value")
    elif isinstance(value, bool):
        assert isinstance(back, bool)
    elif isinstance(value, int | float):
        assert isinstance(back, int | float) and not isinstance(back, bool)


@settings(max_examples=200, deadline=None)
@given(
    er=st.sampled_from([er for er in entity_rows(CATALOG) if er.row.domain != "event"]),
    state=st.one_of(st.text(max_size=12), st.sampled_from(["on", "off", "unknown", "unavailable", "12.5", "-3", "nan", "inf"])),
    attrs=st.dictionaries(
        st.sampled_from(["brightness", "hs_color", "xy_color", "color_temp_kelvin", "current_position", "temperature", "supported_color_modes", "supported_features"]),
        st.one_of(st.none(), st.integers(-10, 1000), st.floats(allow_nan=True), st.text(max_size=5), st.lists(st.integers(0, 400), max_size=3)),
    ),
)  # fmt: skip
def test_any_state_reads_without_raising(er: EntityRow, state: str, attrs: dict[str, Any]) -> None:
    """Whatever HA sends for an entity, reading it gives values or counted errors, never an
    exception; every value it gives fits the catalog or is null."""
    full = {
        "entity_id": f"{er.row.domain}.probe",
        "state": state,
        "attributes": {
            "device_class": er.row.device_class,
            "unit_of_measurement": er.unit,
            "supported_color_modes": ["hs", "color_temp"],
            "supported_features": 255,
            **attrs,
        },
    }
    devices, _ = describe("ha", [], [], [full], catalog=CATALOG, filters=NO_FILTER)
    assert len(devices) == 1
    [part] = devices[0].entities.values()
    reading = read_state(part, full)
    for (comp, cap), props in reading.reports.items():
        definition = CATALOG.get(cap) or devices[0].description.component(comp).capability(cap).definition  # type: ignore[union-attr]
        assert definition is not None
        for name, value in props.items():
            if value is None:
                continue
            prop = definition.property(name)
            assert prop is not None
            with contextlib.suppress(HubError):  # out of range: the adapter's `checked` counts it
                check_value(prop, value, name)


def test_units_home_assistant_shows_in_other_systems_are_converted() -> None:
    row = pick_row(CATALOG, "sensor", "temperature", unit="°F", state_class="measurement")
    assert row is not None and row.capability.id == "dhi.temperature"
    assert value_converter(row, "°F", CATALOG)("72.5") == pytest.approx(22.5)
    energy = pick_row(CATALOG, "sensor", "energy", unit="Wh", state_class="total_increasing")
    assert energy is not None and energy.prop is not None and energy.prop.unit == "kW.h"
    assert value_converter(energy, "Wh", CATALOG)("1500") == 1.5
    # a unit with no conversion is not this row: kept as a vendor property instead
    assert pick_row(CATALOG, "sensor", "temperature", unit="furlongs") is None


def test_a_sensor_without_device_class_needs_a_telling_unit() -> None:
    assert pick_row(CATALOG, "sensor", None) is None
    assert pick_row(CATALOG, "sensor", None, unit="%") is None  # tank, filter life, heating demand…
    hr = pick_row(CATALOG, "sensor", None, unit="bpm")
    assert hr is not None and hr.capability.id == "dhi.heart_rate"


def test_diagnostic_entities_pick_the_diagnostic_capability() -> None:
    plain = pick_row(CATALOG, "sensor", "temperature", unit="°C", state_class="measurement")
    inner = pick_row(
        CATALOG, "sensor", "temperature", unit="°C", entity_category="diagnostic", state_class="measurement"
    )
    assert plain is not None and plain.capability.id == "dhi.temperature"
    assert inner is not None and inner.capability.id == "dhi.device_temperature"
    switch = pick_row(CATALOG, "switch", None)
    assert switch is not None and switch.capability.id == "dhi.on_off"


def test_loop_safety_marker() -> None:
    assert from_dhome({"platform": "mqtt", "unique_id": "dhome:flat:dev:main:t"}, None)
    assert not from_dhome({"platform": "mqtt", "unique_id": "probe_t"}, None)
    assert not from_dhome({"platform": "template", "unique_id": "dhome:looks_alike"}, None)
    assert from_dhome(None, {"identifiers": [["mqtt", "dhome:flat:dev"]]})
    assert not from_dhome(None, {"identifiers": [["zha", "dhome:flat:dev"]], "name": "x"})
    states = [
        {
            "entity_id": "sensor.t",
            "state": "1",
            "attributes": {"device_class": "temperature", "unit_of_measurement": "°C"},
        }
    ]
    entities = [{"entity_id": "sensor.t", "platform": "mqtt", "unique_id": "x", "device_id": "d1"}]
    devices = [{"id": "d1", "identifiers": [["mqtt", "dhome:flat:dev"]], "name": "Bedroom"}]
    found, skipped = describe("ha", entities, devices, states, catalog=CATALOG, filters=NO_FILTER)
    assert found == [] and skipped == ["sensor.t: published by dhome (loop safety)"]


def test_one_ha_device_is_one_dhi_device_with_a_component_per_entity() -> None:
    states = [
        {"entity_id": "sensor.aqara_t", "state": "21", "attributes": {"device_class": "temperature", "unit_of_measurement": "°C", "friendly_name": "Aqara T"}},
        {"entity_id": "sensor.aqara_h", "state": "40", "attributes": {"device_class": "humidity", "unit_of_measurement": "%"}},
        {"entity_id": "sensor.aqara_battery", "state": "87", "attributes": {"device_class": "battery", "unit_of_measurement": "%"}},
        {"entity_id": "sensor.aqara_x", "state": "weird", "attributes": {}},
    ]  # fmt: skip
    entities = [{"entity_id": s["entity_id"], "platform": "zha", "device_id": "d1"} for s in states]
    entities[2]["entity_category"] = "diagnostic"
    devices = [
        {
            "id": "d1",
            "identifiers": [["zha", "00:11"]],
            "name": "Bedroom sensor",
            "manufacturer": "LUMI",
            "area_id": "bedroom",
        }
    ]
    [dev], _ = describe(
        "ha", entities, devices, states, catalog=CATALOG, filters=NO_FILTER, areas={"bedroom": "卧室"}
    )
    d = dev.description
    assert d.id == "ha:d1" and d.name == "Bedroom sensor" and d.manufacturer == "LUMI" and d.room == "卧室"
    caps = {
        c.id: c.capability_ids() if hasattr(c, "capability_ids") else [x.id for x in c.capabilities]
        for c in d.components
    }
    assert caps == {
        "aqara_t": ["dhi.temperature"],
        "aqara_h": ["dhi.humidity"],
        "aqara_battery": ["dhi.battery"],
        "aqara_x": ["x.home_assistant.sensor"],
    }
    assert dev.features.standard == 3 and dev.features.vendor == 1


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_every_unit_conversion_comes_back(x: float) -> None:
    """What the adapter reads in HA's unit and what it sends back agree (°F, Wh, kW, …)."""
    for row in UNIT_CONVERSIONS:
        assert row.from_dhi(row.to_dhi(x)) == pytest.approx(x, rel=1e-9, abs=1e-6), row.ha


def test_a_number_shown_in_another_unit_is_set_in_that_unit() -> None:
    """An HA number in kW for a catalog property in W reads times 1000 and writes divided by 1000."""
    row = pick_row(CATALOG, "number", "power", unit="kW", entity_category="config")
    assert row is not None and (row.capability.id, row.prop.name) == (
        "dhi.electrical_protection",
        "over_power_threshold",
    )  # type: ignore[union-attr]
    conv = value_converter(row, "kW", CATALOG)
    assert conv("2.5") == 2500
    assert conv.back(3000) == 3
    same = value_converter(row, "W", CATALOG)
    assert same("2500") == 2500 and same.back(3000) == 3000


# ---------------------------------------------------------------- fans, valves, sirens, events
# HA state dicts as HA 2025.4's WebSocket get_states gives them (attributes of the fan, valve,
# siren and event platforms; supported_features are the platforms' feature bits)
FAN = {
    "entity_id": "fan.bedroom",
    "state": "on",
    "attributes": {
        "friendly_name": "Bedroom fan",
        "percentage": 66,
        "oscillating": True,
        "direction": "forward",
        "preset_mode": "auto",
        "preset_modes": ["auto", "sleep"],
        "supported_features": 63,
    },
}
VALVE = {
    "entity_id": "valve.garden",
    "state": "opening",
    "attributes": {
        "friendly_name": "Garden",
        "device_class": "water",
        "current_position": 40,
        "supported_features": 7,
    },
}
PLAIN_VALVE = {"entity_id": "valve.main", "state": "closed", "attributes": {"supported_features": 3}}
SIREN = {"entity_id": "siren.hall", "state": "off", "attributes": {"supported_features": 27}}
BUTTON = {
    "entity_id": "event.hall_button",
    "state": "2025-04-01T10:00:00.000+00:00",
    "attributes": {
        "device_class": "button",
        "event_type": "press",
        "event_types": ["press", "double_press", "initial_press"],
    },
}
DOORBELL = {
    "entity_id": "event.front_door",
    "state": "unknown",
    "attributes": {"device_class": "doorbell", "event_type": None, "event_types": ["ring"]},
}
CLASSLESS_EVENT = {
    "entity_id": "event.remote",
    "state": "unknown",
    "attributes": {"event_types": ["on", "off"]},
}
RECORDED = [FAN, VALVE, PLAIN_VALVE, SIREN, BUTTON, DOORBELL, CLASSLESS_EVENT]  # fmt: skip


def _imported(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(capability -> (properties, commands, events) of the description, reported values)."""
    (device,), _ = describe("ha", [], [], [state], catalog=CATALOG, filters=NO_FILTER)
    (comp,) = device.description.components
    caps = {c.id: (c.properties, c.commands, c.events) for c in comp.capabilities}
    reading = read_state(device.entities[state["entity_id"]], state)
    assert not reading.errors
    return caps, {cap: props for (_, cap), props in reading.reports.items()}


def test_fans_valves_and_sirens_become_their_catalog_capabilities() -> None:
    caps, values = _imported(FAN)
    assert caps == {"dhi.fan": (["mode", "speed", "oscillation", "direction"], ["step"], None)}
    assert values["dhi.fan"] == {"mode": "auto", "speed": 66, "oscillation": True, "direction": "forward"}
    caps, values = _imported(VALVE)
    assert caps == {"dhi.valve": (["state", "level"], ["open", "close"], None)}
    assert values["dhi.valve"] == {"state": "transitioning", "level": 40}
    caps, values = _imported(PLAIN_VALVE)  # no device class, no position: still a valve
    assert caps == {"dhi.valve": (["state"], ["open", "close"], None)} and values["dhi.valve"] == {
        "state": "closed"
    }
    caps, values = _imported(SIREN)
    assert caps == {"dhi.siren": (["active"], ["start", "stop"], None)} and values["dhi.siren"] == {
        "active": False
    }


def test_event_entities_become_the_events_of_their_capability() -> None:
    caps, values = _imported(BUTTON)
    assert caps == {"dhi.button": (["last_action"], None, ["double_pressed", "pressed"])}
    assert values["dhi.button"] == {"last_action": "press"}
    caps, _ = _imported(DOORBELL)
    assert caps == {"dhi.doorbell": ([], None, ["pressed"])}
    # without a device class an event could be a remote, an SOS button, a lock's or a keypad's:
    # kept as vendor state, not guessed (the coverage report says so)
    caps, _ = _imported(CLASSLESS_EVENT)
    assert list(caps) == ["x.home_assistant.event"]


@given(
    st.sampled_from(["on", "off"]),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(FAN_PRESET_MODES)),
)
def test_a_fans_mode_is_always_a_catalog_mode(state: str, preset: str | None) -> None:
    mode = fan_mode({"state": state, "preset_mode": preset})
    prop = CATALOG["dhi.fan"].property("mode")
    assert prop is not None and prop.enum is not None and mode in prop.enum
    assert (mode == "off") == (state == "off")


@given(st.one_of(st.text(max_size=20), st.sampled_from(sorted(EVENT_TYPES))))
def test_an_event_type_maps_to_one_of_the_capabilitys_events_or_none(ha_type: str) -> None:
    for cap_id in ("dhi.button", "dhi.doorbell"):
        cap = CATALOG[cap_id]
        events = frozenset(e.name for e in cap.events)
        found = dhi_event(ha_type, events)
        if found is not None:
            name, payload = found
            definition = next(e for e in cap.events if e.name == name)
            assert name in events
            assert set(definition.payload.get("required", [])) <= set(payload)


#: a thermostat as HA's get_states gives it (HA 2025.x, a generic_thermostat): its temperatures are
#: in HA's configured unit system — °F on a US install — whatever the device itself uses
THERMOSTAT: dict[str, Any] = {
    "entity_id": "climate.hall",
    "state": "heat",
    "attributes": {
        "hvac_modes": ["off", "heat"], "min_temp": 44.6, "max_temp": 95, "target_temp_step": 1,
        "current_temperature": 68, "temperature": 71.6, "hvac_action": "idle",
        "friendly_name": "Hall", "supported_features": 385,
    },
}  # fmt: skip


def _thermostat(unit: str, **attrs: Any) -> tuple[Any, Any]:
    state = {**THERMOSTAT, "attributes": {**THERMOSTAT["attributes"], **attrs}}
    (dev,), _ = describe("ha", [], [], [state], catalog=CATALOG, filters=NO_FILTER, temperature_unit=unit)
    part = dev.entities["climate.hall"]
    return part, read_state(part, state).reports[("main", "dhi.thermostat")]


def test_a_fahrenheit_thermostat_reads_in_celsius() -> None:
    """68 °F now, 71.6 °F set: the catalog's °C is 20 and 22, not 68 and 71.6."""
    _, props = _thermostat("°F")
    assert props == {"system_mode": "heat", "local_temperature": 20, "heating_setpoint": 22}
    _, celsius = _thermostat("°C", current_temperature=20, temperature=22)
    assert celsius == props
    # an entity that names its own unit is read in it, whatever HA's unit system
    _, own = _thermostat("°F", temperature_unit="°C", current_temperature=20, temperature=22)
    assert own == props


@given(st.floats(min_value=-50, max_value=120, allow_nan=False), st.sampled_from(["°F", "K", "°C"]))
def test_a_thermostat_temperature_comes_back_in_the_entitys_unit(celsius: float, unit: str) -> None:
    """What dhome sets (°C) and what it then reads back from HA (in HA's unit) agree."""
    part, _ = _thermostat(unit)
    bound = part.caps["dhi.thermostat"]
    reader = next(v for v in bound.values if v.property == "heating_setpoint")
    row = bound.units.get("heating_setpoint")
    assert (row is None) == (unit == "°C")
    shown = row.from_dhi(celsius) if row is not None else celsius
    assert reader.convert(shown) == pytest.approx(celsius, abs=1e-5)
    assert reader.convert.back(celsius) == pytest.approx(shown, abs=1e-5)
