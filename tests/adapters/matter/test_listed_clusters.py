"""Issue 18: every cluster Home Assistant maps is a DHI capability here, and nothing is dropped.

The node dumps in ``tests/adapters/matter/nodes`` are built from the Matter 1.4 spec (one
per kind of device, see PROVENANCE.md there); each listed cluster has a row below with the
DHI capability it becomes, a value converted to DHI and, for writable attributes and
commands, the way back — checked with python-matter-server's own parsers
(``dataclass_from_dict`` / ``parse_value``), which is what the real server runs on a
``device_command`` or ``write_attribute`` (tests/adapters/matter/test_server.py sends
them to the real server too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chip.clusters import ClusterObjects, Objects  # noqa: F401 - importing Objects fills the registries
from matter_server.common.helpers.util import dataclass_from_dict, parse_value

from adapters.matter.mapping import CapBinding, NodeMapping, catalog_lookup, map_node, node_states
from adapters.matter.node import Node, parse_node, unwrap
from adapters.matter.offline import map_dump
from adapters.matter.schema import Write
from adapters.sdk import build_report
from dhi.catalog import check_value, default_catalog
from dhi.checks import check_description
from tests.adapters.matter.support import node_files

CATALOG = default_catalog()
LOOKUP = catalog_lookup(CATALOG)
BUILT = Path(__file__).with_name("nodes")


def built_files() -> list[Path]:
    return sorted(BUILT.glob("*.json"))


def _load(name: str) -> tuple[Node, NodeMapping]:
    node = parse_node(unwrap(json.loads((BUILT / name).read_text()))[0])
    return node, map_node(node, "matter", CATALOG)


def _states(name: str) -> tuple[dict[tuple[str, str], dict[str, Any]], NodeMapping]:
    node, mapping = _load(name)
    out = {}
    for binding, values, errors in node_states(mapping, node, LOOKUP):
        assert not errors, errors
        out[(binding.component, binding.capability)] = values
    return out, mapping


# cluster -> (dump, component, capability, expected values)
LISTED: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "Boolean State Configuration 0x0080": (
        "contact_sensitivity_modes.json",
        "ep1",
        "dhi.sensitivity",
        {"level": 1, "levels": 3, "alarm_active": True, "sensor_fault": False},
    ),
    "Mode Select 0x0050": (
        "contact_sensitivity_modes.json",
        "ep2",
        "dhi.mode",
        {"mode": "Breathe", "modes": ["Steady", "Blink", "Breathe"]},
    ),
    "Scenes 0x0005": (
        "contact_sensitivity_modes.json",
        "ep2",
        "dhi.scene",
        {"current_scene": 1, "group_id": 0},
    ),
    "RVC Run Mode 0x0054": (
        "robot_vacuum.json",
        "ep1",
        "dhi.mode",
        {"mode": "Idle", "modes": ["Idle", "Cleaning", "Mapping"]},
    ),
    "RVC Clean Mode 0x0055": ("robot_vacuum.json", "ep1", "dhi.clean_mode", {"mode": "Vacuum"}),
    "RVC Operational State 0x0061": (
        "robot_vacuum.json",
        "ep1",
        "dhi.operational_state",
        {"state": "docked", "phase": "Cleaning", "remaining_time": 600, "error": None},
    ),
    "Service Area 0x0150": (
        "robot_vacuum.json",
        "ep1",
        "dhi.service_area",
        {
            "areas": ["Kitchen", "Living room", "area 9"],
            "selected_areas": ["Living room"],
            "current_area": "Kitchen",
        },
    ),
    "Dishwasher Mode 0x0059": ("kitchen_appliances.json", "ep1", "dhi.mode", {"mode": "Heavy"}),
    "Dishwasher Alarm 0x005D": (
        "kitchen_appliances.json",
        "ep1",
        "dhi.appliance_alarm",
        {"alarms": ["inflow_error", "door_error"]},
    ),
    "Operational State 0x0060": (
        "kitchen_appliances.json",
        "ep2",
        "dhi.operational_state",
        {"state": "error", "error": "unable_to_start_or_resume"},
    ),
    "Laundry Washer Mode 0x0051": ("kitchen_appliances.json", "ep2", "dhi.mode", {"mode": "Delicate"}),
    "Oven Mode 0x0049": (
        "kitchen_appliances.json",
        "ep4",
        "dhi.mode",
        {"mode": "Bake", "modes": ["Bake", "Grill"]},
    ),
    "Oven Cavity Operational State 0x0048": (
        "kitchen_appliances.json",
        "ep4",
        "dhi.operational_state",
        {"state": "running", "remaining_time": 900},
    ),
    "Temperature Control 0x0056": (
        "kitchen_appliances.json",
        "ep5",
        "x.matter.temperature_control",
        {"selected_temperature_level": 1, "supported_temperature_levels": ["Cold", "Colder", "Coldest"]},
    ),
    "Refrigerator Mode 0x0052": ("kitchen_appliances.json", "ep5", "dhi.mode", {"mode": "Normal"}),
    "Refrigerator Alarm 0x0057": (
        "kitchen_appliances.json",
        "ep5",
        "dhi.appliance_alarm",
        {"alarms": ["door_open"]},
    ),
    "Water Heater Management 0x0094": (
        "water_heater_evse.json",
        "ep1",
        "dhi.water_heater",
        {"boost": False, "heat_demand": True, "tank_percentage": 40, "estimated_heat_required": 1.5},
    ),
    "Water Heater Mode 0x009E": ("water_heater_evse.json", "ep1", "dhi.mode", {"mode": "Manual"}),
    "Device Energy Management 0x0098": (
        "water_heater_evse.json",
        "ep2",
        "x.matter.device_energy_management",
        {"esa_type": "space_heating", "esa_can_generate": False},
    ),
    "Device Energy Management Mode 0x009F": (
        "water_heater_evse.json",
        "ep2",
        "dhi.mode",
        {"mode": "No optimization"},
    ),
    "Power Topology 0x009C": (
        "water_heater_evse.json",
        "ep2",
        "x.matter.power_topology",
        {"active_endpoints": [1]},
    ),
    "Energy EVSE Mode 0x009D": ("water_heater_evse.json", "ep3", "dhi.mode", {"modes": ["Manual", "Solar"]}),
    "Door Lock 0x0101 (operating mode, actuator)": (
        "door_lock_unbolt.json",
        "ep1",
        "dhi.lock",
        {"lock_state": "locked", "operating_mode": "normal", "actuator_enabled": True},
    ),
    "Pump Configuration and Control 0x0200": (
        "pump.json",
        "ep1",
        "dhi.pump",
        {"running": True, "fault": False, "control_mode": "constant_speed", "speed": 2800, "capacity": 2.5},
    ),
    "Level Control on a pump 0x0008": ("pump.json", "ep1", "dhi.level", {"level": 100.0}),  # raw 200
    "Fan Control 0x0202 (rock, wind, direction)": (
        "fan_rock_wind.json",
        "ep1",
        "dhi.fan",
        {"oscillation": True, "wind_mode": "natural", "direction": "forward"},
    ),
    "Smoke CO Alarm 0x005C, CO only": (
        "co_alarm.json",
        "ep1",
        "dhi.co_alarm",
        {"carbon_monoxide": True, "severity": "warning", "test_in_progress": True, "hardware_fault": False},
    ),
    "Carbon Monoxide Concentration 0x040C": ("co_alarm.json", "ep1", "dhi.co", {"co": 35.0}),
    "Soil Measurement 0x0430": ("soil_sensor.json", "ep1", "dhi.soil_moisture", {"moisture": 42}),
    "Thermostat presets 0x0201": (
        "thermostat_presets.json",
        "ep1",
        "dhi.thermostat_preset",
        {"preset": "unoccupied", "presets": ["occupied", "unoccupied", "Reading"]},
    ),
    "Eve valve position 0x130AFC01": (
        "thermostat_presets.json",
        "ep1",
        "x.matter.eve",
        {"valve_position": 35},
    ),
    "Chime 0x0556": (
        "chime.json",
        "ep1",
        "dhi.chime",
        {"sound": "Westminster", "sounds": ["Ding dong", "Westminster"], "enabled": True},
    ),
    "Eve energy 0x130AFC01": (
        "eve_energy_vendor_only.json",
        "ep1",
        "dhi.power",
        {"power": 12.5},
    ),
}


@pytest.mark.parametrize("cluster", sorted(LISTED))
def test_listed_cluster_becomes_a_dhi_capability(cluster: str) -> None:
    name, component, capability, expected = LISTED[cluster]
    states, mapping = _states(name)
    assert (component, capability) in states, sorted(states)
    got = states[(component, capability)]
    assert {k: got.get(k) for k in expected} == expected
    binding = next(b for b in mapping.caps.values() if (b.component, b.capability) == (component, capability))
    definition = binding.row.definition or CATALOG[capability]
    for prop, value in got.items():
        pdef = definition.property(prop)
        assert pdef is not None, prop
        check_value(pdef, value, f"{capability}.{prop}")


def _binding(name: str, component: str, capability: str) -> CapBinding:
    _, mapping = _load(name)
    return next(b for b in mapping.caps.values() if (b.component, b.capability) == (component, capability))


# (dump, component, capability, DHI command, params, expected Matter payload)
COMMANDS = [
    ("robot_vacuum.json", "ep1", "dhi.mode", "set_mode", {"mode": "cleaning"}, {"newMode": 1}),
    ("robot_vacuum.json", "ep1", "dhi.clean_mode", "set_mode", {"mode": "Vacuum and mop"}, {"newMode": 3}),
    ("robot_vacuum.json", "ep1", "dhi.operational_state", "go_home", {}, {}),
    (
        "robot_vacuum.json",
        "ep1",
        "dhi.service_area",
        "select_areas",
        {"areas": ["Kitchen", "area 9"]},
        {"newAreas": [7, 9]},
    ),
    ("kitchen_appliances.json", "ep1", "dhi.appliance_alarm", "reset", {}, {"alarms": 0x3F}),
    ("kitchen_appliances.json", "ep4", "dhi.operational_state", "start", {}, {}),
    (
        "water_heater_evse.json",
        "ep1",
        "dhi.water_heater",
        "boost",
        {"duration": 3600},
        {"boostInfo": {"duration": 3600}},
    ),
    ("water_heater_evse.json", "ep1", "dhi.water_heater", "cancel_boost", {}, {}),
    ("water_heater_evse.json", "ep3", "dhi.mode", "set_mode", {"mode": "Solar"}, {"newMode": 2}),
    ("door_lock_unbolt.json", "ep1", "dhi.lock", "unbolt", {}, {}),
    ("pump.json", "ep1", "dhi.level", "set_level", {"level": 50}, None),
    ("co_alarm.json", "ep1", "dhi.co_alarm", "self_test", {}, {}),
    ("thermostat_presets.json", "ep1", "dhi.thermostat_preset", "set_preset", {"preset": "Reading"}, None),
    ("chime.json", "ep1", "dhi.chime", "play", {}, {}),
]


@pytest.mark.parametrize(
    ("name", "component", "capability", "command", "params", "expected"),
    COMMANDS,
    ids=[f"{c[2]}.{c[3]}" for c in COMMANDS],
)
def test_commands_round_trip_as_the_server_parses_them(
    name: str, component: str, capability: str, command: str, params: dict[str, Any], expected: Any
) -> None:
    binding = _binding(name, component, capability)
    assert command in binding.commands, binding.commands
    spec = binding.row.command(command, params)
    assert spec is not None
    payload = spec.payload(params, binding.converters)
    if expected is not None:
        assert payload == expected
    command_cls = getattr(ClusterObjects.ALL_CLUSTERS[binding.cluster].Commands, spec.matter)
    assert command_cls.command_id == spec.command_id
    dataclass_from_dict(command_cls, payload, allow_sdk_types=True)


def test_pump_setpoint_scaling() -> None:
    binding = _binding("pump.json", "ep1", "dhi.level")
    spec = binding.row.command("set_level", {"level": 50})
    assert spec is not None and spec.payload({"level": 50})["level"] == 100  # 50 % = raw 100
    assert binding.converter(binding.props[0]).to_hub(200) == 100.0
    assert binding.converter(binding.props[0]).to_hub(254) == 100.0  # 201..254 is 100 % too
    assert binding.converter(binding.props[0]).to_hub(1) == 0.5


def test_a_name_the_device_does_not_list_is_refused_by_name() -> None:
    from adapters.sdk.convert import ConversionError

    binding = _binding("robot_vacuum.json", "ep1", "dhi.mode")
    spec = binding.row.command("set_mode", {"mode": "Turbo"})
    assert spec is not None
    with pytest.raises(ConversionError, match="Turbo"):
        spec.payload({"mode": "Turbo"}, binding.converters)


# (dump, component, capability, property, DHI value, expected Matter value)
WRITES = [
    ("contact_sensitivity_modes.json", "ep1", "dhi.sensitivity", "level", 2, 2),
    ("pump.json", "ep1", "dhi.pump", "operation_mode", "maximum", 2),
    ("pump.json", "ep1", "dhi.pump", "control_mode", "automatic", 7),
    ("fan_rock_wind.json", "ep1", "dhi.fan", "oscillation", True, 0x03),  # every supported direction
    ("fan_rock_wind.json", "ep1", "dhi.fan", "wind_mode", "sleep", 1),
    ("fan_rock_wind.json", "ep1", "dhi.fan", "direction", "reverse", 1),
    ("door_lock_unbolt.json", "ep1", "dhi.lock", "operating_mode", "privacy", 2),
    ("chime.json", "ep1", "dhi.chime", "sound", "Ding dong", 0),
    ("chime.json", "ep1", "dhi.chime", "enabled", False, False),
    ("kitchen_appliances.json", "ep2", "x.matter.laundry_washer_controls", "spin_speed_current", 3, 3),
]


@pytest.mark.parametrize(
    ("name", "component", "capability", "prop", "value", "expected"),
    WRITES,
    ids=[f"{w[2]}.{w[3]}" for w in WRITES],
)
def test_writable_properties_round_trip(
    name: str, component: str, capability: str, prop: str, value: Any, expected: Any
) -> None:
    binding = _binding(name, component, capability)
    p = next(p for p in binding.props if p.name == prop)
    assert isinstance(p.set, Write)
    encoded = binding.converter(p).back(value)
    assert encoded == expected
    assert binding.converter(p).to_hub(encoded) == value  # and back to DHI
    attribute = ClusterObjects.ALL_ATTRIBUTES[binding.cluster][p.attribute]
    parse_value(name=prop, value=encoded, value_type=attribute.attribute_type.Type, allow_sdk_types=True)


def test_vendor_properties_are_read_only_unless_writable() -> None:
    binding = _binding("kitchen_appliances.json", "ep2", "x.matter.laundry_washer_controls")
    assert binding.row.definition is not None
    access = {p.name: [a.value for a in p.access] for p in binding.row.definition.properties}
    assert access == {"spin_speeds": ["read", "notify"], "spin_speed_current": ["read", "write", "notify"]}


def test_standard_wins_over_eve_and_eve_is_kept_as_vendor() -> None:
    states, _ = _states("eve_energy_with_standard.json")
    # Electrical Power Measurement (2001 W) and Eve's Watt (1990 W) on the same endpoint
    assert states[("ep1", "dhi.power")] == {"power": 2001.0}
    assert states[("ep1", "x.matter.eve")]["watt"] == 1990.0
    assert states[("ep1", "x.matter.eve")]["voltage"] == 229.8
    # Eve's energy has no standard counterpart on endpoint 1: it fills dhi.energy there
    assert states[("ep1", "dhi.energy")] == {"energy": 3.217}
    _, mapping = _load("eve_energy_with_standard.json")
    eve = mapping.caps[("matter:113", "ep1", "x.matter.eve")].row.definition
    assert eve is not None
    watt = eve.property("watt")
    assert watt is not None and watt.unit == "W"


def test_no_button_from_a_switch_cluster_without_attributes() -> None:
    _, mapping = _load("chime.json")
    assert not [k for k in mapping.caps if k[2] == "dhi.button"]
    (report,) = mapping.reports
    assert report.unmapped == []


def _report(path: Path) -> dict[str, Any]:
    return build_report("matter", map_dump(json.loads(path.read_text()), catalog=CATALOG)).model_dump()


@pytest.mark.parametrize("path", [*node_files(), *built_files()], ids=lambda p: p.name)
def test_every_dump_maps_at_least_95_percent(path: Path) -> None:
    report = _report(path)
    s = report["summary"]
    assert s["features"] == s["standard"] + s["vendor"] + s["unmapped_features"]
    assert s["standard"] + s["vendor"] >= 0.95 * s["features"], report["devices"]
    for device in report["devices"]:
        for entry in device["unmapped"]:
            assert entry["reason"]
    for m in map_dump(json.loads(path.read_text()), catalog=CATALOG):
        assert m.description is not None
        check_description(m.description, CATALOG)  # the hub would accept it


def test_every_built_dump_is_in_provenance() -> None:
    text = (BUILT / "PROVENANCE.md").read_text()
    for path in built_files():
        assert path.name in text


def test_operational_state_events() -> None:
    binding = _binding("kitchen_appliances.json", "ep1", "dhi.operational_state")
    events = {e.event_id: e for e in binding.row.events}
    error = {"errorState": {"errorStateID": 0x41, "errorStateLabel": None, "errorStateDetails": None}}
    assert events[0x00].translate(error) == ("error", {"error": "stuck"})
    assert events[0x00].translate({"errorState": {"errorStateID": 0}}) is None  # NoError
    assert events[0x01].translate({"completionErrorCode": 0, "totalOperationalTime": 3600}) == (
        "completed",
        {"total_time": 3600},
    )
    assert events[0x01].translate({"totalOperationalTime": None}) == ("completed", {})


def test_adapters_check_prints_one_summary_line_per_dump() -> None:
    from typer.testing import CliRunner

    from hub.cli.adapters import app

    paths = [*node_files(), *built_files()]
    result = CliRunner().invoke(app, ["check", "matter", *map(str, paths), "--summary"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in paths]
    for line in lines:
        assert line["features"] == line["standard"] + line["vendor"] + line["unmapped"]
        assert line["kept_percent"] >= 95.0, line


@pytest.mark.parametrize("path", built_files(), ids=lambda p: p.name)
def test_no_two_features_share_a_dhi_property(path: Path) -> None:
    from adapters.sdk import collisions

    for m in map_dump(json.loads(path.read_text()), catalog=CATALOG):
        assert collisions(m.mapping) == [], m.id
        assert m.mapping, "every bound feature is listed with what it became"
