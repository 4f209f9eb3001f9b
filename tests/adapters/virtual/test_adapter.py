"""The virtual adapter in a real in-process hub: devices, state, commands, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from adapters.virtual import VirtualAdapter
from adapters.virtual.capdevices import native_id_for
from adapters.virtual.effects import EFFECT_INDEX
from adapters.virtual.home import load_home, resolve_home
from adapters.virtual.values import example_for_schema
from dhi.catalog import check_params, check_value, default_catalog
from dhi.errors import HubError
from dhi.models import CommandRequest, CommandStatus
from dhi.models.catalog import PropertyDef, ValueType
from dhi.validate import validate
from hub.core import Hub
from tests.adapters.virtual.support import drain, running_hub, state_filter, value_of

CATALOG = default_catalog()
DEMO = load_home(resolve_home("demo"), CATALOG)

WRITABLE = [
    (cap.id, prop.name)
    for cap in (CATALOG[c] for c in sorted(CATALOG))
    for prop in cap.properties
    if prop.writable
]
COMMANDS = [(cap.id, cmd.name) for cap in (CATALOG[c] for c in sorted(CATALOG)) for cmd in cap.commands]

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with running_hub(tmp_path_factory.mktemp("hub"), {"all_capabilities": True}) as (h, _):
        yield h


def adapter_of(hub: Hub) -> VirtualAdapter:
    adapter = hub.supervisor.slots["virtual"].instance
    assert isinstance(adapter, VirtualAdapter)
    return adapter


_ids = iter(range(1, 1_000_000))


def request(
    device: str, capability: str, command: str, params: dict[str, Any] | None = None, **kw: Any
) -> Any:
    return CommandRequest(
        id=f"t{next(_ids)}", device=device, capability=capability, command=command, params=params or {}, **kw
    )


async def settle() -> None:
    await asyncio.sleep(0)


# ------------------------------------------------------------------ devices


async def test_demo_home_devices_are_registered_with_valid_descriptions(hub: Hub) -> None:
    ids = {rec.id for rec in hub.registry.all()}
    assert {f"virtual:{d}" for d in DEMO.devices} <= ids
    for native, template in DEMO.devices.items():
        rec = hub.registry.get(f"virtual:{native}")
        assert rec is not None and rec.adapter == "virtual" and rec.available
        doc = rec.description.to_json()
        kind, problems = validate(doc, "device")
        assert (kind, problems) == ("device", []), f"{native}: {problems}"
        assert rec.description.room == template.room and rec.description.room in DEMO.rooms


async def test_demo_home_covers_the_elderly_care_flat(hub: Hub) -> None:
    by_room: dict[str, set[str]] = {}
    for native in DEMO.devices:
        rec = hub.registry.get(f"virtual:{native}")
        assert rec is not None and rec.description.room is not None
        by_room.setdefault(rec.description.room, set()).update(rec.description.capability_ids())
    assert set(by_room) == {"living_room", "bedroom", "kitchen", "bathroom", "hallway"}
    for room, caps_in_room in by_room.items():
        assert caps_in_room & {"dhi.motion", "dhi.presence"}, f"{room} has no motion/presence sensor"
    assert {"dhi.gas_leak", "dhi.smoke_alarm"} <= by_room["kitchen"]
    assert {"dhi.water_leak", "dhi.fall_detection", "dhi.presence"} <= by_room["bathroom"]
    assert {"dhi.contact", "dhi.lock", "dhi.siren"} <= by_room["hallway"]
    assert {"dhi.bed_occupancy", "dhi.heart_rate", "dhi.respiration_rate", "dhi.sos"} <= by_room["bedroom"]
    assert {"dhi.co_alarm", "dhi.thermostat", "dhi.window_covering", "dhi.power", "dhi.energy"} <= by_room[
        "living_room"
    ]
    caps = set().union(*by_room.values())
    assert {"dhi.valve", "dhi.temperature", "dhi.humidity", "dhi.battery", "dhi.level"} <= caps


async def test_initial_state_of_every_device_is_published_and_valid(hub: Hub) -> None:
    for rec in hub.registry.all():
        state = hub.state.of_device(rec.id)
        for comp in rec.description.components:
            for inst in comp.capabilities:
                definition = CATALOG[inst.id]
                for prop in definition.properties:
                    if inst.properties is not None and prop.name not in inst.properties:
                        continue
                    sv = state.get(comp.id, {}).get(inst.id, {}).get(prop.name)
                    assert sv is not None, f"{rec.id} {inst.id}.{prop.name} has no state"
                    check_value(prop, sv.value, prop.name, (inst.constraints or {}).get(prop.name))


async def test_demo_initial_values_come_from_the_home_file(hub: Hub) -> None:
    assert value_of(hub, "virtual:entrance-door", "dhi.contact", "contact") is True
    assert value_of(hub, "virtual:entrance-lock", "dhi.lock", "lock_state") == "locked"
    assert value_of(hub, "virtual:kitchen-smoke", "dhi.battery", "percentage") == 64
    assert value_of(hub, "virtual:thermostat", "dhi.thermostat", "system_mode") == "heat"


async def test_one_device_per_catalog_capability(hub: Hub) -> None:
    for cap_id in CATALOG:
        rec = hub.registry.get(f"virtual:{native_id_for(cap_id)}")
        assert rec is not None, f"no virtual device for {cap_id}"
        assert rec.description.capability_ids() == [cap_id]
        assert validate(rec.description.to_json(), "device")[1] == []
    caps = [r for r in hub.registry.all() if r.id.startswith("virtual:cap-")]
    assert len(caps) == len(CATALOG)


# ------------------------------------------------------------------ writing properties


def other_value(prop: PropertyDef, current: Any) -> Any:
    """A valid value different from ``current`` (for a write that must show on the bus)."""
    lo = prop.minimum if prop.minimum is not None else -1000.0
    hi = prop.maximum if prop.maximum is not None else 1000.0
    candidates: list[Any]
    match prop.type:
        case ValueType.BOOLEAN:
            candidates = [not current]
        case ValueType.ENUM:
            candidates = list(prop.enum or [])
        case ValueType.INTEGER:
            candidates = [int(lo) + 1, int(hi) - 1, int(lo), int(hi)]
        case ValueType.NUMBER:
            candidates = [lo + (hi - lo) / 4, hi - (hi - lo) / 4, lo, hi]
        case ValueType.STRING:
            candidates = ["test_value", "2026-01-15T06:00:00+08:00"]
        case ValueType.OBJECT:
            candidates = [{"monday": [{"time": "06:30", "temperature": 21.5}]}, {"x": 1}]
        case ValueType.ARRAY:
            candidates = [["a"], [1]]
    for value in candidates:
        if value == current:
            continue
        try:
            check_value(prop, value, prop.name)
        except HubError:
            continue
        return value
    raise AssertionError(f"no other valid value for {prop.name}")


@pytest.mark.parametrize(("capability", "prop_name"), WRITABLE, ids=[f"{c}.{p}" for c, p in WRITABLE])
async def test_set_writes_every_writable_property(hub: Hub, capability: str, prop_name: str) -> None:
    device = f"virtual:{native_id_for(capability)}"
    prop = CATALOG[capability].property(prop_name)
    assert prop is not None
    new = other_value(prop, value_of(hub, device, capability, prop_name))
    sub = hub.bus.subscribe("t", state_filter(device))
    try:
        result = await hub.execute(request(device, capability, "set", {prop_name: new}))
        await settle()
        assert result.status is CommandStatus.OK, result.error
        assert value_of(hub, device, capability, prop_name) == new
        changes = [m.data for m in drain(sub) if str(m.type) == "org.dhi.v1.state.changed"]
        assert [(c.capability, c.property, c.value) for c in changes] == [(capability, prop_name, new)]
    finally:
        sub.close()


# ------------------------------------------------------------------ catalog commands


#: Parameters the minimal-instance generator cannot make (string patterns).
PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("dhi.color_gradient", "set_gradient"): {"colors": ["#FF8800", "#0088FF"]},
    ("dhi.lock", "set_pin_code"): {"user": 1, "pin_code": "2468"},
}


def params_for(capability: str, command: str) -> dict[str, Any]:
    cmd_def = CATALOG[capability].command(command)
    assert cmd_def is not None
    params = PARAMS.get((capability, command)) or example_for_schema(cmd_def.params)
    check_params(cmd_def.params, params)  # a failure here: add a row to PARAMS
    assert isinstance(params, dict)
    return params


@pytest.mark.parametrize(("capability", "command"), COMMANDS, ids=[f"{c}.{m}" for c, m in COMMANDS])
async def test_every_catalog_command_has_an_effect(hub: Hub, capability: str, command: str) -> None:
    """Each command succeeds with schema-valid params; what it reports is what the hub now holds."""
    device = f"virtual:{native_id_for(capability)}"
    params = params_for(capability, command)
    sub = hub.bus.subscribe("t", state_filter(device))
    try:
        result = await hub.execute(request(device, capability, command, params))
        await settle()
        assert result.status is CommandStatus.OK, result.error
        assert result.result is not None
        updates: dict[str, Any] = result.result["properties"]
        for name, value in updates.items():
            assert value_of(hub, device, capability, name) == value
        effect = EFFECT_INDEX.get((capability, command))
        if effect is not None and effect.note is None:
            assert updates, f"{capability}.{command} changed nothing"
        msgs = drain(sub)
        events = [m.data.event for m in msgs if str(m.type) == "org.dhi.v1.event.occurred"]
        assert events == result.result["events"]
    finally:
        sub.close()


#: Specific outcomes, starting from the state the previous row left (order matters).
OUTCOMES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    ("virtual:living-light", "dhi.on_off", "on", {}, {"on": True}),
    ("virtual:living-light", "dhi.on_off", "toggle", {}, {"on": False}),
    ("virtual:living-light", "dhi.on_off", "toggle", {}, {"on": True}),
    ("virtual:living-light", "dhi.level", "set_level", {"level": 35}, {"level": 35}),
    ("virtual:living-light", "dhi.level", "step", {"direction": "up", "step_size": 10}, {"level": 45}),
    ("virtual:living-light", "dhi.level", "step", {"direction": "down", "step_size": 80}, {"level": 0}),
    ("virtual:living-light", "dhi.level", "move", {"direction": "up"}, {"level": 100}),
    ("virtual:living-light", "dhi.color_temperature", "set_color_temperature", {"color_temperature": 4000},
     {"color_temperature": 4000}),
    ("virtual:living-blind", "dhi.window_covering", "open", {}, {"position": 100, "moving": "stopped"}),
    ("virtual:living-blind", "dhi.window_covering", "set_position", {"position": 30}, {"position": 30}),
    ("virtual:living-blind", "dhi.window_covering", "close", {}, {"position": 0}),
    ("virtual:entrance-lock", "dhi.lock", "unlock", {}, {"lock_state": "unlocked"}),
    ("virtual:entrance-lock", "dhi.lock", "lock", {"pin_code": "1234"}, {"lock_state": "locked"}),
    ("virtual:water-valve", "dhi.valve", "close", {}, {"state": "closed", "level": 0}),
    ("virtual:water-valve", "dhi.valve", "open", {"level": 50}, {"state": "open", "level": 50}),
    ("virtual:siren", "dhi.siren", "start", {"volume": "medium"}, {"active": True, "volume": "medium"}),
    ("virtual:siren", "dhi.siren", "stop", {}, {"active": False}),
    ("virtual:kitchen-smoke", "dhi.smoke_alarm", "mute", {}, {"muted": True}),
    ("virtual:thermostat", "dhi.thermostat", "set", {"heating_setpoint": 21.0}, {"heating_setpoint": 21.0}),
    ("virtual:thermostat", "dhi.thermostat", "setpoint_raise_lower", {"mode": "heat", "amount": 1.5},
     {"heating_setpoint": 22.5}),
    ("virtual:thermostat", "dhi.thermostat", "set", {"system_mode": "off"}, {"system_mode": "off"}),
    ("virtual:cap-fan", "dhi.fan", "set", {"speed_level": 0}, {"speed_level": 0}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "increase"}, {"speed_level": 1}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "increase"}, {"speed_level": 2}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "increase"}, {"speed_level": 3}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "increase"}, {"speed_level": 3}),
    ("virtual:cap-fan", "dhi.fan", "set", {"speed_level": 1}, {"speed_level": 1}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "decrease"}, {"speed_level": 0}),
    ("virtual:cap-fan", "dhi.fan", "step", {"direction": "decrease"}, {"speed_level": 0}),
    ("virtual:cap-scene", "dhi.scene", "recall", {"scene": 7}, {"current_scene": 7}),
    ("virtual:cap-firmware_update", "dhi.firmware_update", "install", {}, {"installed_version": "1.0.1"}),
]  # fmt: skip


async def test_commands_change_state_as_documented(hub: Hub) -> None:
    for device, capability, command, params, expected in OUTCOMES:
        result = await hub.execute(request(device, capability, command, params))
        assert result.status is CommandStatus.OK, (command, result.error)
        for name, value in expected.items():
            assert value_of(hub, device, capability, name) == value, (device, command, name)


async def test_constraints_of_the_home_bound_command_results(hub: Hub) -> None:
    """The thermostat's setpoint is limited to 5..30 by the home file: raising stops there."""
    device = "virtual:thermostat"
    ok = await hub.execute(request(device, "dhi.thermostat", "set", {"heating_setpoint": 29.0}))
    assert ok.status is CommandStatus.OK
    raised = await hub.execute(
        request(device, "dhi.thermostat", "setpoint_raise_lower", {"mode": "both", "amount": 5})
    )
    assert raised.status is CommandStatus.OK
    assert value_of(hub, device, "dhi.thermostat", "heating_setpoint") == 30


async def test_self_test_reports_its_result_as_an_event(hub: Hub) -> None:
    device = "virtual:kitchen-smoke"
    sub = hub.bus.subscribe("t", state_filter(device))
    try:
        result = await hub.execute(request(device, "dhi.smoke_alarm", "self_test"))
        await settle()
        assert result.status is CommandStatus.OK
        events = [m.data for m in drain(sub) if str(m.type) == "org.dhi.v1.event.occurred"]
        assert [(e.event, e.payload) for e in events] == [("self_test_complete", {"passed": True})]
    finally:
        sub.close()


# ------------------------------------------------------------------ invalid commands

INVALID: list[tuple[dict[str, Any], str, str | None]] = [
    ({"device": "virtual:nope", "capability": "dhi.on_off", "command": "on"}, "unknown_device", "device"),
    ({"device": "virtual:living-light", "component": "left", "capability": "dhi.on_off", "command": "on"},
     "unknown_component", "component"),
    ({"device": "virtual:living-light", "capability": "dhi.lock", "command": "lock"},
     "unknown_capability", "capability"),
    ({"device": "virtual:living-light", "capability": "dhi.on_off", "command": "explode"},
     "unknown_command", "command"),
    ({"device": "virtual:living-light", "capability": "dhi.level", "command": "set", "params": {"brightness": 3}},
     "unknown_property", "params.brightness"),
    ({"device": "virtual:living-light", "capability": "dhi.level", "command": "set", "params": {"on_level": 3}},
     "unknown_property", "params.on_level"),
    ({"device": "virtual:kitchen-smoke", "capability": "dhi.smoke_alarm", "command": "set",
      "params": {"smoke": True}}, "not_writable", "params.smoke"),
    ({"device": "virtual:living-light", "capability": "dhi.on_off", "command": "set", "params": {"on": "yes"}},
     "invalid_params", "params.on"),
    ({"device": "virtual:living-light", "capability": "dhi.level", "command": "set", "params": {"level": 101}},
     "out_of_range", "params.level"),
    ({"device": "virtual:living-light", "capability": "dhi.color_temperature", "command": "set",
      "params": {"color_temperature": 2000}}, "out_of_range", "params.color_temperature"),
    ({"device": "virtual:living-light", "capability": "dhi.level", "command": "set_level", "params": {}},
     "invalid_params", None),
    ({"device": "virtual:living-light", "capability": "dhi.level", "command": "set_level",
      "params": {"level": 150}}, "invalid_params", "params.level"),
    ({"device": "virtual:entrance-lock", "capability": "dhi.lock", "command": "unlock",
      "params": {"pin_code": "12"}}, "invalid_params", "params.pin_code"),
    ({"device": "virtual:living-light", "capability": "dhi.on_off", "command": "set", "params": {}},
     "invalid_params", "params"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "code", "field"), INVALID, ids=[f"{c}-{i}" for i, (_, c, _f) in enumerate(INVALID)]
)
async def test_invalid_commands_get_precise_errors_and_never_reach_the_adapter(
    hub: Hub, fields: dict[str, Any], code: str, field: str | None
) -> None:
    adapter = adapter_of(hub)
    before = adapter.executed
    result = await hub.execute(CommandRequest(id=f"bad{next(_ids)}", **fields))
    assert result.status is CommandStatus.ERROR
    assert result.error is not None
    assert result.error.code == code, result.error
    if field is not None:
        assert result.error.field == field
    assert adapter.executed == before


# ------------------------------------------------------------------ homes with special devices


VENDOR_HOME = {
    "name": "Lab",
    "rooms": [{"id": "lab", "name": "Lab"}],
    "devices": [
        {
            "id": "widget",
            "name": "Widget",
            "room": "lab",
            "components": [
                {
                    "capabilities": [
                        {
                            "id": "x.acme.widget",
                            "definition": {
                                "id": "x.acme.widget",
                                "category": "vendor",
                                "label": {"en": "Widget", "zh-CN": "小部件"},
                                "description": {"en": "A vendor widget", "zh-CN": "厂商小部件"},
                                "properties": [{"name": "spin", "type": "integer", "minimum": 0,
                                                "maximum": 9, "access": ["read", "write", "notify"]}],
                                "commands": [{"name": "frobnicate"}, {"name": "spin_to", "params": {
                                    "type": "object", "properties": {"spin": {"type": "integer"}}}}],
                            },
                        }
                    ]
                }
            ],
        },
        {"id": "dead", "name": "Dead plug", "room": "lab", "available": False,
         "components": [{"capabilities": ["dhi.on_off"]}]},
    ],
}  # fmt: skip


@pytest.fixture
def vendor_home(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(VENDOR_HOME, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.asyncio(loop_scope="function")
async def test_vendor_commands_without_effect_are_unsupported(tmp_path: Path, vendor_home: Path) -> None:
    async with running_hub(tmp_path / "data", {"home": str(vendor_home)}) as (hub, adapter):
        result = await hub.execute(request("virtual:widget", "x.acme.widget", "frobnicate"))
        assert result.status is CommandStatus.ERROR and result.error is not None
        assert (result.error.code, result.error.field) == ("unsupported", "command")
        assert adapter.executed == 1
        # the generic fallback: a parameter naming a property sets it
        ok = await hub.execute(request("virtual:widget", "x.acme.widget", "spin_to", {"spin": 4}))
        assert ok.status is CommandStatus.OK
        assert value_of(hub, "virtual:widget", "x.acme.widget", "spin") == 4
        # ... but never to an invalid value
        bad = await hub.execute(request("virtual:widget", "x.acme.widget", "spin_to", {"spin": 12}))
        assert bad.error is not None and bad.error.code == "out_of_range"
        assert value_of(hub, "virtual:widget", "x.acme.widget", "spin") == 4


@pytest.mark.asyncio(loop_scope="function")
async def test_unavailable_devices_refuse_commands(tmp_path: Path, vendor_home: Path) -> None:
    async with running_hub(tmp_path / "data", {"home": str(vendor_home)}) as (hub, adapter):
        rec = hub.registry.get("virtual:dead")
        assert rec is not None and rec.available is False
        result = await hub.execute(request("virtual:dead", "dhi.on_off", "on"))
        assert result.error is not None and result.error.code == "device_unavailable"
        assert adapter.executed == 0


@pytest.mark.asyncio(loop_scope="function")
async def test_devices_dropped_from_the_home_file_are_removed(tmp_path: Path, vendor_home: Path) -> None:
    data = tmp_path / "data"
    async with running_hub(data, {"home": str(vendor_home)}) as (hub, _):
        assert hub.registry.get("virtual:dead") is not None
    smaller = dict(VENDOR_HOME, devices=VENDOR_HOME["devices"][:1])
    vendor_home.write_text(yaml.safe_dump(smaller, allow_unicode=True), encoding="utf-8")
    async with running_hub(data, {"home": str(vendor_home)}) as (hub, _):
        assert hub.registry.get("virtual:dead") is None
        assert hub.state.of_device("virtual:dead") == {}
        widget = hub.registry.get("virtual:widget")
        assert widget is not None and widget.available


@pytest.mark.asyncio(loop_scope="function")
async def test_a_restarted_hub_sees_the_devices_available_again(tmp_path: Path) -> None:
    async with running_hub(tmp_path, {}) as (hub, _):
        n = len(hub.registry)
    async with running_hub(tmp_path, {}) as (hub, _):
        assert len(hub.registry) == n
        assert all(rec.available for rec in hub.registry.all())
