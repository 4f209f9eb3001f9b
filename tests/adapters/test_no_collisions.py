"""The SDK's no-collision rule, per adapter: no two vendor features of one generated device
map to the same DHI property, and every feature's reported place exists in the description.

Each adapter gets devices generated from its own vocabulary (its mapping tables, real dumps)
so features that mean the same quantity (phases, directions, flows, duplicate sensors) meet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.dhi_mqtt.adapter import map_descriptions
from adapters.homie import HomieAdapter
from adapters.matter.offline import map_dump
from adapters.sdk import DeviceMapping, collisions
from adapters.shelly.mapping import FIELDS as SHELLY_FIELDS
from adapters.shelly.model import describe as shelly_describe
from adapters.tasmota import TasmotaAdapter
from adapters.tasmota.mapping import SENSOR_FIELDS
from adapters.tasmota.model import decode_sensor, describe, parse_config, sensor_values
from adapters.zigbee2mqtt.exposes import BridgeDevice
from adapters.zigbee2mqtt.mapping import map_device
from dhi.catalog import default_catalog

CATALOG = default_catalog()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MATTER_NODES = Path(__file__).resolve().parents[2] / "../shared/fixtures/matter/nodes"


def assert_no_collision(mappings: list[DeviceMapping]) -> None:
    for m in mappings:
        assert collisions(m.mapping) == [], m.id
        if m.description is None:
            continue
        for fate in m.mapping:
            assert fate.component is not None and fate.capability is not None
            comp = m.description.component(fate.component)
            assert comp is not None, f"{fate.feature} placed in a missing component {fate.component}"
            inst = comp.capability(fate.capability)
            assert inst is not None, f"{fate.feature}: {fate.component} lacks {fate.capability}"
            if fate.property is not None and inst.properties is not None:
                assert fate.property in inst.properties, fate


# --------------------------------------------------------------------------- Tasmota

_T_KEYS = sorted({r.key for r in SENSOR_FIELDS} | {"ImportActive", "ExportActive", "TotalTariff", "Speed"})
_t_value = st.one_of(
    st.floats(0, 1000, allow_nan=False),
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["Phase1", "Phase2", "Phase3"]), st.floats(0, 9), min_size=1),
)
tasmota_sensors = st.dictionaries(
    st.sampled_from(["ENERGY", "ANALOG", "BME280", "SHT3X", "DS18B20-1", "SCD30", "TX23"]),
    st.dictionaries(st.sampled_from(_T_KEYS), _t_value, max_size=8),
    max_size=4,
)
tasmota_config = st.fixed_dictionaries(
    {
        "mac": st.just("AABBCCDDEEFF"),
        "t": st.just("dev"),
        "rl": st.lists(st.integers(0, 3), max_size=6),
        "swc": st.lists(st.sampled_from([-1, 0, 1, 2, 13]), max_size=4),
        "btn": st.lists(st.integers(0, 1), max_size=4),
        "lt_st": st.integers(0, 5),
        "lk": st.integers(0, 1),
        "so": st.fixed_dictionaries({"68": st.integers(0, 1), "73": st.integers(0, 1)}),
        "if": st.integers(0, 1),
        "bat": st.integers(0, 1),
    }
)


@SETTINGS
@given(config=tasmota_config, sensors=tasmota_sensors)
def test_tasmota(config: dict[str, Any], sensors: dict[str, Any]) -> None:
    assert_no_collision(TasmotaAdapter.map_offline({"config": config, "sensors": {"sn": sensors}}))
    # at runtime every value goes where the mapping put it: a declared property of its own
    dev = describe(parse_config(config), sensors, "tasmota")
    decoded = decode_sensor(dev, sensors)
    for (comp, cap), props in decoded.reports.items():
        inst = dev.description.component(comp).capability(cap)  # type: ignore[union-attr]
        assert inst is not None
        declared = inst.properties or [p.name for p in inst.definition.properties]  # type: ignore[union-attr]
        assert set(props) <= set(declared)
    values, _ = sensor_values(sensors, dev.switches)
    assert len({dev.sensor_fields[v.feature] + v.row.capability + v.prop for v in values}) == len(values)


# --------------------------------------------------------------------------- Homie

_H_PROPS = st.sampled_from(
    [
        ("power", "W"), ("current-a", "A"), ("current-b", "A"), ("current", "A"), ("voltage-a", "V"),
        ("imported-energy", "kWh"), ("exported-energy", "kWh"), ("energy", "Wh"), ("pv", "W"), ("grid", "W"),
        ("battery", "%"), ("soc", "%"), ("rating", "A"), ("temperature", "°C"), ("temp-2", "°C"),
        ("humidity", "%"), ("level", "%"), ("power-l1", "W"), ("power-l2", "W"), ("x-1", None),
    ]
)  # fmt: skip


@st.composite
def homie_description(draw: st.DrawFn) -> dict[str, Any]:
    nodes = {}
    for n in range(draw(st.integers(1, 3))):
        props = {}
        for prop_id, unit in draw(st.lists(_H_PROPS, max_size=8, unique=True)):
            p: dict[str, Any] = {
                "datatype": draw(st.sampled_from(["float", "integer"])),
                "settable": draw(st.booleans()),
            }
            if unit:
                p["unit"] = unit
            props[prop_id] = p
        nodes[draw(st.sampled_from(["meter", "power-flows", "sensor", "battery"])) + f"-{n}"] = {
            "properties": props
        }
    return {"homie": "5.0", "version": 1, "nodes": nodes}


@SETTINGS
@given(desc=homie_description())
def test_homie(desc: dict[str, Any]) -> None:
    assert_no_collision(HomieAdapter.map_offline(desc))


# --------------------------------------------------------------------------- Shelly

_S_FIELDS = [(r.kind, r.path) for r in SHELLY_FIELDS]


@st.composite
def shelly_status(draw: st.DrawFn) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for kind, path in draw(st.lists(st.sampled_from(_S_FIELDS), min_size=1, max_size=12)):
        obj = status.setdefault(f"{kind}:{draw(st.integers(0, 1))}", {})
        *parents, leaf = path.split(".")
        for p in parents:
            obj = obj.setdefault(p, {})
        obj[leaf] = 1
    return status


@SETTINGS
@given(status=shelly_status())
def test_shelly(status: dict[str, Any]) -> None:
    dev = shelly_describe({"id": "shellypro3em-aabb", "gen": 2}, None, status, "shelly")
    assert_no_collision([dev.features.report(dev.description)])


# --------------------------------------------------------------------------- Zigbee2MQTT

_Z_NAMES = ["power", "energy", "produced_energy", "current", "voltage", "temperature", "humidity", "state",
            "power_a", "power_b", "current_l1", "current_l2", "energy_2", "battery", "contact", "occupancy"]  # fmt: skip
_z_expose = st.builds(
    lambda name, endpoint: {
        "type": "binary" if name in ("state", "contact", "occupancy") else "numeric",
        "name": name,
        "property": f"{name}_{endpoint}" if endpoint else name,
        "access": 1,
        **({"endpoint": endpoint} if endpoint else {}),
        **({"value_on": True, "value_off": False} if name in ("state", "contact", "occupancy") else {}),
    },
    st.sampled_from(_Z_NAMES),
    st.sampled_from([None, "l1", "l2"]),
)


@SETTINGS
@given(exposes=st.lists(_z_expose, max_size=10))
def test_zigbee2mqtt(exposes: list[dict[str, Any]]) -> None:
    entry = {
        "ieee_address": "0x00124b0000000001",
        "friendly_name": "dev",
        "definition": {"model": "M", "vendor": "V", "exposes": exposes},
    }
    assert_no_collision([map_device(BridgeDevice.model_validate(entry), CATALOG).report()])


# --------------------------------------------------------------------------- Matter

_NODES = [
    node
    for node in (json.loads(p.read_text(encoding="utf-8")) for p in sorted(MATTER_NODES.glob("*.json")))
    if all("/" in k for k in node.get("attributes", {"-": 0}))  # the flat format only
]


def _endpoints(node: dict[str, Any]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for key, value in node["attributes"].items():
        ep, rest = key.split("/", 1)
        out.setdefault(int(ep), {})[rest] = value
    return out


@st.composite
def matter_node(draw: st.DrawFn) -> dict[str, Any]:
    """Endpoint 0 of one real node plus application endpoints drawn from several real nodes."""
    root = _endpoints(draw(st.sampled_from(_NODES))).get(0, {})
    attrs = {f"0/{k}": v for k, v in root.items() if not k.startswith("29/3")}
    picked = draw(st.lists(st.sampled_from(_NODES), min_size=1, max_size=3))
    parts = []
    for i, node in enumerate(picked, start=1):
        eps = [e for e in _endpoints(node).items() if e[0] != 0]
        if not eps:
            continue
        _, ep_attrs = draw(st.sampled_from(eps))
        attrs.update({f"{i}/{k}": v for k, v in ep_attrs.items()})
        parts.append(i)
    attrs["0/29/3"] = parts
    return {"node_id": 7, "available": True, "is_bridge": False, "attributes": attrs}


@SETTINGS
@given(node=matter_node())
def test_matter(node: dict[str, Any]) -> None:
    assert_no_collision(map_dump(node, catalog=CATALOG))


# --------------------------------------------------------------------------- DHI over MQTT

_CAPS = sorted(c for c in CATALOG if CATALOG[c].properties)


@SETTINGS
@given(
    caps=st.lists(st.tuples(st.sampled_from(["main", "l1"]), st.sampled_from(_CAPS)), min_size=1, max_size=6)
)
def test_dhi_mqtt(caps: list[tuple[str, str]]) -> None:
    comps: dict[str, dict[str, Any]] = {}
    for comp, cap in caps:
        comps.setdefault(comp, {"id": comp, "capabilities": {}})["capabilities"][cap] = {"id": cap}
    desc = {
        "id": "dev:one",
        "name": "one",
        "adapter": "dev",
        "components": [
            {"id": c["id"], "capabilities": list(c["capabilities"].values())} for c in comps.values()
        ],
    }
    mappings = map_descriptions(desc, CATALOG, "dhi_mqtt")
    assert mappings[0].description is not None
    assert_no_collision(mappings)


def test_zigbee2mqtt_second_value_is_a_vendor_property_with_the_reason() -> None:
    exposes = [
        {"type": "numeric", "name": "power", "property": "power", "access": 1, "unit": "W"},
        {"type": "numeric", "name": "power", "property": "power_total", "access": 1, "unit": "W"},
    ]
    entry = {"ieee_address": "0x00124b0000000001", "friendly_name": "dev", "definition": {"exposes": exposes}}
    fates = {f.feature: f for f in map_device(BridgeDevice.model_validate(entry), CATALOG).report().mapping}
    assert (fates["power"].capability, fates["power"].reason) == ("dhi.power", None)
    assert fates["power_total"].capability == "x.zigbee2mqtt.power"
    assert fates["power_total"].reason == "main/dhi.power.power already holds power"
