"""The Matter adapter against a real python-matter-server and a real in-process hub.

The server runs on loopback with temporary storage (tests/support/matter_server.py); the
fixture node dumps are loaded into it with ``import_test_node``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.matter import MatterAdapter
from adapters.matter.protocol import Command
from dhi.models import CommandRequest
from hub.bus import Filter, Subscription
from hub.config import AdapterEntry, HubConfig
from hub.core import Hub
from tests.adapters.matter.support import BUILT, load, load_built, node_files
from tests.support.matter_server import MatterServer, import_nodes, server_command

pytestmark = pytest.mark.slow

WAIT = 30.0  # a guard against hanging, not a timing assertion


@contextlib.asynccontextmanager
async def running_hub(data_dir: Path, url: str) -> AsyncIterator[tuple[Hub, MatterAdapter]]:
    config = {"url": url, "reconnect_initial": 0.05, "reconnect_max": 0.5}
    hub = Hub(
        HubConfig(adapters=[AdapterEntry(type="matter", config=config)]),
        data_dir=data_dir,
        adapter_classes={"matter": MatterAdapter},
    )
    async with hub:
        await hub.supervisor.wait_running("matter", timeout=WAIT)
        adapter = hub.supervisor.slots["matter"].instance
        assert isinstance(adapter, MatterAdapter)
        async with asyncio.timeout(WAIT):
            await adapter.client.wait_ready()
        yield hub, adapter


async def until(check: Callable[[], Any], what: str) -> Any:
    """Poll until ``check()`` is truthy (the guard timeout only stops a hang)."""
    try:
        async with asyncio.timeout(WAIT):
            while not (result := check()):
                await asyncio.sleep(0.02)
            return result
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def next_message(sub: Subscription, match: Callable[[Any], bool], what: str) -> Any:
    try:
        async with asyncio.timeout(WAIT):
            while True:
                msg = await sub.get()
                if match(msg):
                    return msg
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def value(hub: Hub, device: str, component: str, capability: str, prop: str) -> Any:
    sv = hub.state.get(device, component, capability, prop)
    return None if sv is None else sv.value


@pytest.fixture(scope="module")
def imported(matter_server: MatterServer) -> dict[str, int]:
    """Every fixture node loaded into the module's server: file name -> server node id."""
    names = [p.name for p in node_files()]
    ids = asyncio.run(import_nodes(matter_server.url, [load(n) for n in names]))
    assert len(ids) == len(names)
    return dict(zip(names, ids, strict=True))


async def test_hub_shows_devices_and_state(
    matter_server: MatterServer, imported: dict[str, int], tmp_path: Path
) -> None:
    async with running_hub(tmp_path, matter_server.url) as (hub, _adapter):
        temp = f"matter:{imported['mock_temperature_sensor.json']}"
        bridge = imported["pms_fake-bridge-two-light.json"]
        await until(lambda: hub.registry.get(f"matter:{bridge}-10"), "the bridged lamp")
        for name, node_id in imported.items():
            assert hub.registry.get(f"matter:{node_id}") is not None, name
        rec = hub.registry.get(temp)
        assert rec is not None and rec.description.model == "Mock PressureSensor"
        assert {c.id for c in rec.description.components} == {"ep0", "ep1"}
        await until(lambda: value(hub, temp, "ep1", "dhi.temperature", "temperature") == 21.0, "21.0 Cel")
        lamp = hub.registry.get(f"matter:{bridge}-9")
        assert lamp is not None and lamp.description.via == f"matter:{bridge}"
        assert value(hub, f"matter:{bridge}-9", "ep9", "dhi.on_off", "on") is True
        smoke = f"matter:{imported['heiman_smoke_detector.json']}"
        assert value(hub, smoke, "ep1", "dhi.smoke_alarm", "smoke") is False
        assert value(hub, smoke, "ep1", "dhi.battery", "percentage") == 94.0
        assert hub.registry.get(temp).available  # type: ignore[union-attr]


async def test_commands_round_trip(
    matter_server: MatterServer, imported: dict[str, int], tmp_path: Path
) -> None:
    plug = f"matter:{imported['mock_on_off_plugin_unit.json']}"
    async with running_hub(tmp_path, matter_server.url) as (hub, _adapter):
        await until(lambda: hub.registry.get(plug), "the plug")
        sub = hub.bus.subscribe("test", Filter.of(types=["org.dhi.v1.command.result"]))
        # device_command: a test node answers null, which is success
        result = await hub.execute(
            CommandRequest(id="c1", device=plug, component="ep1", capability="dhi.on_off", command="on")
        )
        assert result.status == "ok", result.error
        msg = await next_message(sub, lambda m: m.data.result.id == "c1", "the command result on the bus")
        assert msg.data.result.status == "ok"
        # a command with parameters, converted for the server (50 % -> level 127)
        result = await hub.execute(
            CommandRequest(
                id="c2",
                device=plug,
                component="ep1",
                capability="dhi.level",
                command="set_level",
                params={"level": 50, "transition_time": 1.5},
            )
        )
        assert result.status == "ok", result.error
        # a writable property through write_attribute
        result = await hub.execute(
            CommandRequest(
                id="c3",
                device=plug,
                component="ep1",
                capability="dhi.power_on_behavior",
                command="set",
                params={"behavior": "on"},
            )
        )
        assert result.status == "ok", result.error


# (dump, component, capability, command, params): the server parses each into the SDK's
# command or attribute object (an error comes back as the command result otherwise)
LISTED_COMMANDS = [
    ("robot_vacuum.json", "ep1", "dhi.mode", "set_mode", {"mode": "Cleaning"}),
    ("robot_vacuum.json", "ep1", "dhi.clean_mode", "set", {"mode": "Mop"}),
    ("robot_vacuum.json", "ep1", "dhi.operational_state", "go_home", {}),
    ("robot_vacuum.json", "ep1", "dhi.service_area", "select_areas", {"areas": ["Kitchen", "Living room"]}),
    ("kitchen_appliances.json", "ep1", "dhi.appliance_alarm", "reset", {}),
    ("kitchen_appliances.json", "ep4", "dhi.operational_state", "start", {}),
    ("kitchen_appliances.json", "ep2", "x.matter.laundry_washer_controls", "set", {"spin_speed_current": 1}),
    ("water_heater_evse.json", "ep1", "dhi.water_heater", "boost", {"duration": 1800}),
    ("door_lock_unbolt.json", "ep1", "dhi.lock", "unbolt", {"pin_code": "1234"}),
    ("door_lock_unbolt.json", "ep1", "dhi.lock", "set", {"operating_mode": "vacation"}),
    ("pump.json", "ep1", "dhi.level", "set_level", {"level": 75}),
    ("pump.json", "ep1", "dhi.pump", "set", {"control_mode": "constant_pressure"}),
    ("fan_rock_wind.json", "ep1", "dhi.fan", "set", {"oscillation": True, "wind_mode": "sleep"}),
    ("co_alarm.json", "ep1", "dhi.co_alarm", "self_test", {}),
    ("contact_sensitivity_modes.json", "ep1", "dhi.sensitivity", "set", {"level": 2}),
    ("contact_sensitivity_modes.json", "ep2", "dhi.mode", "set_mode", {"mode": "Blink"}),
    ("thermostat_presets.json", "ep1", "dhi.thermostat_preset", "set_preset", {"preset": "occupied"}),
    ("chime.json", "ep1", "dhi.chime", "play", {}),
    ("chime.json", "ep1", "dhi.chime", "set", {"sound": "Ding dong", "enabled": True}),
    # vendor commands: cluster commands no row sends, parameters typed from the data model
    (
        "contact_sensitivity_modes.json",
        "ep1",
        "x.matter.boolean_state_configuration",
        "enable_disable_alarm",
        {"alarms_to_enable_disable": 1},
    ),
    (
        "kitchen_appliances.json",
        "ep4",
        "x.matter.temperature_control",
        "set_temperature",
        {"target_temperature": 5000},
    ),
]


async def test_listed_clusters_through_the_real_server(matter_server: MatterServer, tmp_path: Path) -> None:
    names = sorted(p.name for p in BUILT.glob("*.json"))
    ids = dict(zip(names, await import_nodes(matter_server.url, [load_built(n) for n in names]), strict=True))
    async with running_hub(tmp_path, matter_server.url) as (hub, _adapter):
        for name, node_id in ids.items():
            await until(lambda n=node_id: hub.registry.get(f"matter:{n}"), name)  # type: ignore[misc]
        vacuum = f"matter:{ids['robot_vacuum.json']}"
        await until(lambda: value(hub, vacuum, "ep1", "dhi.operational_state", "state") == "docked", "docked")
        assert value(hub, vacuum, "ep1", "dhi.service_area", "areas") == ["Kitchen", "Living room", "area 9"]
        pump = f"matter:{ids['pump.json']}"
        await until(lambda: value(hub, pump, "ep1", "dhi.level", "level") == 100.0, "the pump at 100 %")
        eve = f"matter:{ids['eve_energy_with_standard.json']}"
        await until(lambda: value(hub, eve, "ep1", "x.matter.eve", "watt") == 1990.0, "Eve's watt kept")
        assert value(hub, eve, "ep1", "dhi.power", "power") == 2001.0
        for n, (name, component, capability, command, params) in enumerate(LISTED_COMMANDS):
            request = CommandRequest(
                id=f"l{n}",
                device=f"matter:{ids[name]}",
                component=component,
                capability=capability,
                command=command,
                params=params,
            )
            result = await hub.execute(request)
            assert result.status == "ok", (capability, command, result.error)
        # a name the device does not list never reaches the server
        result = await hub.execute(
            CommandRequest(
                id="bad",
                device=vacuum,
                component="ep1",
                capability="dhi.mode",
                command="set_mode",
                params={"mode": "Turbo"},
            )
        )
        assert result.status == "error" and result.error is not None and "Turbo" in result.error.message


async def test_server_error_comes_back_as_command_result(matter_server: MatterServer, tmp_path: Path) -> None:
    """A node the server marks unavailable: the server's own error is the DHI result."""
    dump = copy.deepcopy(load("mock_switch_unit.json"))
    dump["available"] = False
    (node_id,) = await import_nodes(matter_server.url, [dump])
    device = f"matter:{node_id}"
    async with running_hub(tmp_path, matter_server.url) as (hub, adapter):
        await until(lambda: hub.registry.get(device), "the offline node")
        rec = hub.registry.get(device)
        assert rec is not None and rec.available is False
        request = CommandRequest(
            id="e1", device=device, component="ep1", capability="dhi.on_off", command="toggle"
        )
        # the hub refuses commands to an unavailable device before they reach the adapter …
        result = await hub.execute(request)
        assert result.status == "error" and result.error is not None
        assert result.error.code == "device_unavailable"
        # … so ask the adapter directly: the command goes out and the server's error comes back
        result = await adapter.execute(request)
        assert result.status == "error"
        assert result.error is not None and result.error.code == "adapter_error"
        assert (
            "NodeNotReady" in result.error.message
            and f"Node {node_id} is not (yet) available" in result.error.message
        )
        # a command the endpoint does not support never reaches the server
        result = await hub.execute(
            CommandRequest(
                id="e2",
                device=device,
                component="ep1",
                capability="dhi.level",
                command="set_level",
                params={"level": 1},
            )
        )
        assert result.status == "error" and result.error is not None


async def test_live_node_changes_reach_the_bus(matter_server: MatterServer, tmp_path: Path) -> None:
    """node_added, a changed attribute value and node_removed, all pushed by the server."""
    async with running_hub(tmp_path, matter_server.url) as (hub, _adapter):
        sub = hub.bus.subscribe("test")
        dump = copy.deepcopy(load("mock_temperature_sensor.json"))
        (node_id,) = await import_nodes(matter_server.url, [dump])
        device = f"matter:{node_id}"
        await next_message(
            sub, lambda m: m.type == "org.dhi.v1.device.added" and m.subject == device, "device added"
        )
        await until(
            lambda: value(hub, device, "ep1", "dhi.temperature", "temperature") == 21.0, "first value"
        )
        # python-matter-server emits attribute_updated only for commissioned devices; for a
        # test node, the way to change a value is to replace the node (it keeps its id)
        await server_command(matter_server.url, Command.REMOVE_NODE, node_id=node_id)
        await next_message(
            sub, lambda m: m.type == "org.dhi.v1.device.removed" and m.subject == device, "removal"
        )
        assert hub.registry.get(device) is None
        dump["attributes"]["1/1026/0"] = 2250
        assert await import_nodes(matter_server.url, [dump]) == [node_id]
        msg = await next_message(
            sub,
            lambda m: (
                m.type == "org.dhi.v1.state.changed"
                and m.subject == device
                and m.data.property == "temperature"
            ),
            "the new temperature",
        )
        assert msg.data.value == 22.5
        # an interview of the node sends node_updated: nothing changed, nothing re-published
        before = hub.bus.seq
        await server_command(matter_server.url, Command.INTERVIEW_NODE, node_id=node_id)
        await server_command(matter_server.url, Command.GET_NODE, node_id=node_id)  # the update has been sent
        await asyncio.sleep(0.1)
        assert [m for m in _drain(sub) if m.seq > before and m.type == "org.dhi.v1.state.changed"] == []


def _drain(sub: Subscription) -> list[Any]:
    out = []
    while (msg := sub.get_nowait()) is not None:
        out.append(msg)
    return out


async def test_reconnects_after_the_server_restarts(
    matter_server_factory: Callable[[], MatterServer], tmp_path: Path
) -> None:
    server = matter_server_factory()
    (node_id,) = await import_nodes(server.url, [load("mock_occupancy_sensor.json")])
    device = f"matter:{node_id}"
    async with running_hub(tmp_path, server.url) as (hub, adapter):
        await until(lambda: hub.registry.get(device), "the sensor")
        await asyncio.to_thread(server.stop_process)
        await until(lambda: adapter.client.connected is False, "the adapter to notice")
        await until(
            lambda: not hub.registry.get(device) or not hub.registry.get(device).available, "unavailable"
        )  # type: ignore[union-attr]
        await asyncio.to_thread(server.start)
        await until(lambda: adapter.client.sessions == 2, "the second session")
        # test nodes live in the server's memory only: the restarted server has none
        await until(lambda: hub.registry.get(device) is None, "the vanished node to be removed")
        (again,) = await import_nodes(server.url, [load("mock_occupancy_sensor.json")])
        await until(lambda: hub.registry.get(f"matter:{again}"), "the node imported again")
        assert value(hub, f"matter:{again}", "ep1", "dhi.occupancy", "occupied") is True
