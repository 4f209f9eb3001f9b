"""Mapping of real Matter node dumps (shared/fixtures/matter/nodes) to DHI devices."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.matter import MatterAdapter
from adapters.matter.clusters import Kind, kind
from adapters.matter.mapping import catalog_lookup, map_node, node_states
from adapters.matter.node import NodeFormatError, parse_node, unwrap
from adapters.matter.offline import map_dump
from adapters.matter.rows import LISTED_CLUSTERS, ROWS, UTILITY_DEVICE_TYPES, _latched
from adapters.sdk import build_report
from dhi.catalog import check_value, default_catalog
from dhi.checks import check_description
from tests.adapters.matter.support import load, node_files

CATALOG = default_catalog()
LOOKUP = catalog_lookup(CATALOG)


def states_of(dump: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    for raw in unwrap(dump):
        node = parse_node(raw)
        mapping = map_node(node, "matter", CATALOG)
        for binding, values, errors in node_states(mapping, node, LOOKUP):
            assert not errors, errors
            out[(binding.device_id, binding.component, binding.capability)] = values
    return out


# device -> component -> capability -> expected property values (from the dumps' raw attributes)
EXPECTED: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = {
    "mock_temperature_sensor.json": {
        ("matter:38", "ep1", "dhi.temperature"): {"temperature": 21.0}
    },  # 1/1026/0 = 2100
    "pms_fake-temperature-sensor.json": {("matter:4338", "ep9", "dhi.temperature"): {"temperature": 21.0}},
    "pms_fake_humidity_sensor.json": {
        ("matter:4338", "ep9", "dhi.humidity"): {"humidity": 30.0}
    },  # 3000 centi-%
    "pms_fake_flow_sensor.json": {("matter:4338", "ep9", "dhi.flow"): {"flow": 0.2}},  # 2 x 0.1 m3/h
    "pms_fake_pressure_sensor.json": {("matter:4338", "ep9", "dhi.pressure"): {"pressure": 0}},
    "pms_fake_light_sensor.json": {
        ("matter:4338", "ep9", "dhi.illuminance"): {"illuminance": 1.3}
    },  # 1000 -> 10^0.0999
    "mock_occupancy_sensor.json": {("matter:24", "ep1", "dhi.occupancy"): {"occupied": True}},
    "eve_contact_sensor.json": {
        ("matter:9", "ep1", "dhi.contact"): {"contact": False},
        ("matter:9", "ep1", "dhi.battery"): {
            "percentage": 100.0,
            "voltage": 3.558,
            "low": False,
        },  # 200 half-%, 3558 mV
        ("matter:9", "ep0", "dhi.device_info"): {"manufacturer": "Eve Systems", "model": "Eve Door"},
    },
    "heiman_smoke_detector.json": {
        ("matter:11", "ep1", "dhi.smoke_alarm"): {
            "smoke": False,
            "severity": "normal",
            "hardware_fault": False,
        },
        ("matter:11", "ep1", "dhi.battery"): {"percentage": 94.0, "charge_level": "ok"},
    },
    "mock_on_off_plugin_unit.json": {
        ("matter:26", "ep1", "dhi.on_off"): {"on": False},
        ("matter:26", "ep1", "dhi.level"): {
            "level": 100.0,
            "on_level": None,
        },  # 254 -> 100 %, null stays null
        ("matter:26", "ep1", "dhi.power_on_behavior"): {"behavior": "previous"},  # StartUpOnOff null
    },
    "mock_onoff_light.json": {("matter:30", "ep1", "dhi.on_off"): {"on": True}},
    "mock_switch_unit.json": {("matter:35", "ep1", "dhi.on_off"): {"on": False}},
    "mock_valve.json": {
        ("matter:75", "ep1", "dhi.valve"): {
            "state": "closed",
            "level": 0.0,
            "remaining_duration": None,
            "fault": False,
        }
    },
    "mock_generic_switch.json": {("matter:19", "ep1", "dhi.button"): {}},
    "pms_lighting-example-app.json": {
        ("matter:4337", "ep1", "dhi.level"): {"level": 100.0},
        ("matter:4337", "ep1", "dhi.color"): {"color_mode": "color_temperature", "x": 0.3805, "y": 0.3769},
        # 0 mireds is no colour temperature at all (the light reports hue/xy)
        ("matter:4337", "ep1", "dhi.color_temperature"): {"color_temperature": None},
    },
    "pms_onoff-switch-example-app.json": {("matter:4337", "ep1", "dhi.on_off"): {"on": False}},
    "pms_contact-sensor-example-app.json": {("matter:4337", "ep1", "dhi.contact"): {"contact": False}},
    "pms_fake-bridge-two-light.json": {
        ("matter:4338-9", "ep9", "dhi.on_off"): {"on": True},
        ("matter:4338-10", "ep10", "dhi.on_off"): {"on": False},
        ("matter:4338-9", "ep9", "dhi.connectivity"): {"online": True},
    },
    "pms_fake_color_temperature_light.json": {("matter:4338", "ep9", "dhi.level"): {"level": 1.6}},
    "pms_fake_extended_color_light.json": {("matter:4338", "ep9", "dhi.on_off"): {"on": True}},
}


def test_every_fixture_has_expectations() -> None:
    assert {p.name for p in node_files()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_values(name: str) -> None:
    states = states_of(load(name))
    for key, expected in EXPECTED[name].items():
        assert key in states, f"{key} not mapped; got {sorted(states)}"
        for prop, value in expected.items():
            assert prop in states[key], f"{key}: {prop} missing in {states[key]}"
            assert states[key][prop] == value, f"{key}.{prop}"


@pytest.mark.parametrize("path", node_files(), ids=lambda p: p.name)
def test_fixture_maps_completely(path: Path) -> None:
    dump = json.loads(path.read_text())
    mappings = map_dump(dump, catalog=CATALOG)
    assert mappings
    components = set()
    for m in mappings:
        assert m.description is not None, m.unmapped
        check_description(m.description, CATALOG)  # the hub would accept it
        components |= {c.id for c in m.description.components}
        assert m.features == m.standard + m.vendor + len(m.unmapped)
        for entry in m.unmapped:
            cluster = int(entry.feature.split("/")[1]) if "/" in entry.feature else None
            assert cluster not in LISTED_CLUSTERS, f"listed cluster left unmapped: {entry}"
    # every endpoint whose device type does something yields a component
    node = parse_node(unwrap(dump)[0])
    for ep in node:
        if [d for d in ep.device_types if d not in UTILITY_DEVICE_TYPES]:
            assert f"ep{ep.id}" in components, f"endpoint {ep.id} ({ep.device_types}) has no component"
    report = build_report("matter", mappings)
    json.dumps(report.model_dump())  # what `dhome adapters check --json` prints


@pytest.mark.parametrize("path", node_files(), ids=lambda p: p.name)
def test_state_values_fit_the_catalog(path: Path) -> None:
    node = parse_node(unwrap(json.loads(path.read_text()))[0])
    for binding, values, errors in node_states(map_node(node, "matter", CATALOG), node, LOOKUP):
        assert not errors, errors
        definition = binding.row.definition or CATALOG.get(binding.capability)
        assert definition is not None
        for prop, value in values.items():
            pdef = definition.property(prop)
            assert pdef is not None
            check_value(pdef, value, f"{binding.capability}.{prop}")


def test_bridge_devices_are_separate_and_point_at_the_bridge() -> None:
    mappings = {m.id: m for m in map_dump(load("pms_fake-bridge-two-light.json"))}
    assert set(mappings) == {"matter:4338", "matter:4338-9", "matter:4338-10"}
    kitchen = mappings["matter:4338-9"].description
    assert kitchen is not None
    assert kitchen.via == "matter:4338"
    assert kitchen.name == "Kitchen Ceiling"
    assert kitchen.firmware == "67.8.9"
    bridge = mappings["matter:4338"].description
    assert bridge is not None and bridge.via is None and bridge.manufacturer == "Mock Vendor"


def test_legacy_and_current_formats_agree() -> None:
    """A legacy dump converted to the flat format maps exactly as the original."""
    from adapters.matter.node import normalize_node

    legacy = load("pms_fake-bridge-two-light.json")
    flat = normalize_node(legacy)
    assert all("/" in key for key in flat["attributes"])
    assert [m.model_dump() for m in map_dump(legacy)] == [m.model_dump() for m in map_dump(flat)]


@pytest.mark.parametrize(
    "wrap",
    [
        lambda n: n,
        lambda n: {"data": {"node": n}},
        lambda n: [n, n],
        lambda n: {"data": {"server": {"nodes": [n]}}},
    ],
    ids=["bare", "ha-diagnostics", "list", "server-diagnostics"],
)
def test_input_wrappers(wrap: Any) -> None:
    node = load("mock_temperature_sensor.json")
    mappings = MatterAdapter.map_offline(wrap(node))
    assert mappings and all(m.id == "matter:38" for m in mappings)


def test_not_a_node_is_a_clear_error() -> None:
    with pytest.raises(NodeFormatError, match="not a Matter node dump"):
        map_dump({"foo": 1})


# ---------------------------------------------------------------- the general case


def _ep(
    ep: int, device_type: int, clusters: dict[int, dict[int, Any]], parts: list[int] | None = None
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        f"{ep}/29/0": [{"0": device_type, "1": 1}],
        f"{ep}/29/1": sorted([29, *clusters]),
        f"{ep}/29/3": parts or [],
    }
    for cluster, values in clusters.items():
        for attr, value in values.items():
            attrs[f"{ep}/{cluster}/{attr}"] = value
    return attrs


def big_bridge(count: int) -> dict[str, Any]:
    attrs = _ep(0, 0x16, {40: {1: "ACME", 3: "Hub", 5: "", 15: "SN1"}}, list(range(1, count + 2)))
    attrs |= _ep(1, 0x0E, {}, list(range(2, count + 2)))
    for ep in range(2, count + 2):
        attrs |= _ep(ep, 0x0100, {6: {0: ep % 2 == 0}, 57: {5: f"Lamp {ep}", 17: ep != 5}})
        attrs[f"{ep}/29/0"].append({"0": 0x13, "1": 1})
    return {"node_id": 7, "available": True, "attributes": attrs}


def test_bridge_with_many_endpoints() -> None:
    mappings = {m.id: m for m in map_dump(big_bridge(60))}
    assert len(mappings) == 61
    lamp = mappings["matter:7-10"].description
    assert lamp is not None and lamp.name == "Lamp 10" and lamp.via == "matter:7"
    assert [c.id for c in lamp.components] == ["ep10"]
    assert mappings["matter:7"].description is not None
    assert mappings["matter:7"].description.name == "Hub"  # empty NodeLabel falls back to the product
    states = states_of(big_bridge(60))
    assert states[("matter:7-5", "ep5", "dhi.connectivity")] == {"online": False}


def test_unknown_and_vendor_clusters_become_vendor_properties() -> None:
    node = {
        "node_id": 3,
        "attributes": _ep(0, 0x16, {40: {1: "V", 3: "P"}})
        | _ep(
            1,
            0x0302,
            {
                0x0402: {0: None},
                0x0200: {0: 1},
                0x130AFC01: {0x130A0011: 5, 0x130A0018: 40},
                0x7FF0: {0: 1, 1: None},
            },
        ),
    }
    (mapping,) = map_dump(node)
    # the only thing that cannot be represented: a null of an attribute nobody describes
    assert [(u.feature, "data model" in u.reason) for u in mapping.unmapped] == [(f"1/{0x7FF0}/1", True)]
    states = states_of(node)
    assert states[("matter:3", "ep1", "dhi.temperature")] == {"temperature": None}  # nullable, kept
    assert states[("matter:3", "ep1", "dhi.pump")] == {"max_pressure": 0.1}
    # Eve's data model names and types its attributes; an undescribed one is typed from its value
    assert states[("matter:3", "ep1", "x.matter.eve")] == {"valve_position": 40, "attribute_130a0011": 5}
    assert states[("matter:3", "ep1", "x.matter.cluster_7ff0")] == {"attribute_0": 1}
    desc = mapping.description
    assert desc is not None
    comp = desc.component("ep1")
    assert comp is not None
    eve = comp.capability("x.matter.eve")
    assert eve is not None and eve.definition is not None
    valve = eve.definition.property("valve_position")
    assert valve is not None and valve.unit == "%" and valve.access == ["read", "notify"]
    # vendor: Eve, cluster 0x7ff0 and the Pump cluster's alarm events no row translates
    assert mapping.vendor == 3 and mapping.standard == 3  # device_info, temperature, pump


def test_boolean_state_means_what_the_device_type_says() -> None:
    # a water freeze detector: StateValue true = freezing
    node = {"node_id": 4, "attributes": _ep(0, 0x16, {40: {1: "V"}}) | _ep(1, 0x0041, {0x0045: {0: True}})}
    (mapping,) = map_dump(node)
    assert mapping.unmapped == []
    assert states_of(node)[("matter:4", "ep1", "dhi.water_freeze")] == {"freeze": True}


def test_boolean_state_without_a_known_device_type_is_kept_as_vendor() -> None:
    # a Boolean State cluster on a device type that does not say what "true" means
    node = {"node_id": 4, "attributes": _ep(0, 0x16, {40: {1: "V"}}) | _ep(1, 0x0302, {0x0045: {0: True}})}
    (mapping,) = map_dump(node)
    assert mapping.unmapped == [] and mapping.vendor == 1
    assert states_of(node)[("matter:4", "ep1", "x.matter.boolean_state")] == {"state_value": True}


def test_latching_switch_position_and_its_event() -> None:
    # Switch cluster with FeatureMap LatchingSwitch (bit 0): a rocker with 2 positions
    node = {
        "node_id": 6,
        "attributes": _ep(0, 0x16, {40: {1: "V"}}) | _ep(1, 0x000F, {0x003B: {0: 2, 1: 1, 0xFFFC: 1}}),
    }
    (mapping,) = map_dump(node)
    assert mapping.unmapped == []
    assert states_of(node)[("matter:6", "ep1", "dhi.switch_position")] == {"position": 1, "positions": 2}
    desc = mapping.description
    comp = desc.component("ep1") if desc is not None else None
    inst = comp.capability("dhi.switch_position") if comp is not None else None
    assert inst is not None and inst.events == ["position_changed"]


@pytest.mark.parametrize(
    ("cluster", "capability", "prop"),
    [
        (0x0413, "dhi.nitrogen_dioxide", "nitrogen_dioxide"),
        (0x0415, "dhi.ozone", "ozone"),
        (0x042F, "dhi.radon", "radon"),
    ],
)
def test_no2_ozone_radon_are_catalog_capabilities(cluster: int, capability: str, prop: str) -> None:
    # numeric measurement (bit 0) and level indication (bit 1); MeasurementUnit 0 = ppm, 5 = Bq/m3
    unit = 7 if prop == "radon" else 0  # MeasurementUnitEnum: 0 ppm, 7 Bq/m3
    node = {
        "node_id": 8,
        "attributes": _ep(0, 0x16, {40: {1: "V"}})
        | _ep(1, 0x002C, {cluster: {0: 12.5, 8: unit, 10: 2, 0xFFFC: 3}}),
    }
    (mapping,) = map_dump(node)
    assert mapping.unmapped == [] and mapping.vendor == 0
    assert states_of(node)[("matter:8", "ep1", capability)] == {prop: 12.5, "level": "medium"}


def test_infrastructure_clusters_count_neither_way() -> None:
    node = {
        "node_id": 5,
        "attributes": _ep(0, 0x16, {40: {1: "V"}, 0x30: {0: 1}, 0x33: {1: 3}, 0x3E: {2: 5}}),
    }
    (mapping,) = map_dump(node)
    assert mapping.unmapped == [] and mapping.features == mapping.standard == 1  # only Basic Information


def test_bad_attribute_keys_are_reported() -> None:
    node = load("mock_temperature_sensor.json")
    node = copy.deepcopy(node)
    node["attributes"]["1/x/0"] = 1
    (mapping,) = map_dump(node)
    assert any("non-numeric" in u.reason for u in mapping.unmapped)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
PATHS = st.builds(
    lambda e, c, a: f"{e}/{c}/{a}",
    st.integers(0, 3),
    st.sampled_from(sorted({r.cluster for r in ROWS} | {29, 40, 57})),
    st.sampled_from([0, 1, 2, 3, 4, 5, 8, 10, 12, 14, 17, 28, 0xFFFC, 0xFFF9]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(PATHS, JSON, max_size=25))
def test_arbitrary_attribute_values_never_crash(attributes: dict[str, Any]) -> None:
    """Garbage values of real attribute paths: mapped, reported, or skipped — never a crash."""
    node = parse_node({"node_id": 1, "attributes": attributes})
    mapping = map_node(node, "matter", CATALOG)
    for desc in mapping.devices.values():
        check_description(desc, CATALOG)
    for binding, values, errors in node_states(mapping, node, LOOKUP):
        assert all(isinstance(e, str) and "/" in e for e in errors)  # each names the attribute
        definition = CATALOG.get(binding.capability) or binding.row.definition
        assert definition is not None
        for prop, value in values.items():
            pdef = definition.property(prop)
            assert pdef is not None
            check_value(pdef, value, f"{binding.capability}.{prop}")  # what the hub would accept


def test_clusters_kinds() -> None:
    assert kind(0x0028) is Kind.METADATA
    assert kind(0x0031) is Kind.INFRASTRUCTURE
    assert kind(0x0006) is Kind.APPLICATION


@given(
    st.dictionaries(
        st.sampled_from(["newPosition", "other"]),
        st.one_of(st.integers(-5, 300), st.booleans(), st.none(), st.text(max_size=3)),
    )
)
def test_switch_latched_event_payload(data: dict[str, Any]) -> None:
    out = _latched(data)
    position = data.get("newPosition")
    if isinstance(position, int) and not isinstance(position, bool) and 0 <= position <= 254:
        assert out == ("position_changed", {"position": position})
    else:
        assert out is None
