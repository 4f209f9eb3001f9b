"""Commands and events no row maps are kept as vendor ones on ``x.matter.<cluster>``.

Offline on the fixture dumps (parameters typed from the Matter data model, payloads parsed
by python-matter-server's own ``dataclass_from_dict``), then through the adapter against
the fake server of :mod:`tests.adapters.matter.fake_server` (a node event becomes the
vendor event, checked against the published description by the recording context; a
vendor command goes out as the cluster command)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from chip.clusters import ClusterObjects, Objects  # noqa: F401 - importing Objects fills the registries
from matter_server.common.helpers.util import dataclass_from_dict

from adapters.matter.adapter import MatterAdapter, MatterConfig
from adapters.matter.mapping import CapBinding, map_node
from adapters.matter.node import normalize_node, parse_node
from adapters.matter.offline import map_dump
from adapters.matter.vendor import vendor_command, vendor_event
from tests.adapters.matter.fake_server import FakeMatterServer
from tests.adapters.matter.support import load, load_built
from tests.adapters.matter.test_adapter import request, until
from tests.support.recording import RecordingContext


def _binding(data: dict[str, Any], component: str, capability: str) -> CapBinding:
    mapping = map_node(parse_node(normalize_node(data)))
    return next(b for b in mapping.caps.values() if (b.component, b.capability) == (component, capability))


def test_unmapped_accepted_commands_become_typed_vendor_commands() -> None:
    (mapping,) = map_dump(load("mock_onoff_light.json"))
    assert mapping.description is not None
    comp = mapping.description.component("ep1")
    assert comp is not None
    standard = comp.capability("dhi.on_off")
    vendor = comp.capability("x.matter.on_off")
    assert standard is not None and vendor is not None and vendor.definition is not None
    # on/off/toggle stay with the catalog capability; the rest is kept, not dropped
    assert {"on", "off", "toggle"} <= set(standard.commands or [])
    assert vendor.commands == ["off_with_effect", "on_with_recall_global_scene", "on_with_timed_off"]
    (off_with_effect,) = [c for c in vendor.definition.commands if c.name == "off_with_effect"]
    assert off_with_effect.params["properties"] == {
        "effect_identifier": {"type": "string", "enum": ["delayed_all_off", "dying_light"]},
        "effect_variant": {"type": "integer"},
    }
    assert off_with_effect.params["required"] == ["effect_identifier", "effect_variant"]


# (dump loader, dump, component, capability, DHI command, params, expected Matter payload)
VENDOR_COMMANDS = [
    (
        load,
        "mock_onoff_light.json",
        "ep1",
        "x.matter.on_off",
        "off_with_effect",
        {"effect_identifier": "dying_light", "effect_variant": 0},
        {"effectIdentifier": 1, "effectVariant": 0},
    ),
    (
        load,
        "mock_on_off_plugin_unit.json",
        "ep1",
        "x.matter.level_control",
        "move_to_level",
        {"level": 20, "transition_time": None, "options_mask": 0, "options_override": 0},
        {"level": 20, "transitionTime": None, "optionsMask": 0, "optionsOverride": 0},
    ),
    (
        load_built,
        "contact_sensitivity_modes.json",
        "ep1",
        "x.matter.boolean_state_configuration",
        "enable_disable_alarm",
        {"alarms_to_enable_disable": 1},
        {"alarmsToEnableDisable": 1},
    ),
]


@pytest.mark.parametrize(
    ("loader", "name", "component", "capability", "command", "params", "expected"),
    VENDOR_COMMANDS,
    ids=[f"{c[3]}.{c[4]}" for c in VENDOR_COMMANDS],
)
def test_vendor_commands_are_what_the_server_parses(
    loader: Any,
    name: str,
    component: str,
    capability: str,
    command: str,
    params: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    binding = _binding(loader(name), component, capability)
    assert command in binding.commands, binding.commands
    spec = binding.row.command(command, params)
    assert spec is not None
    payload = spec.payload(params, binding.converters)
    assert payload == expected
    command_cls = getattr(ClusterObjects.ALL_CLUSTERS[binding.cluster].Commands, spec.matter)
    assert command_cls.command_id == spec.command_id
    dataclass_from_dict(command_cls, payload, allow_sdk_types=True)


def test_vendor_command_checks_its_parameters() -> None:
    made = vendor_command(0x0006, 0x40)  # OnOff OffWithEffect
    assert made is not None
    _definition, cmd = made
    with pytest.raises(KeyError):  # a required field missing: the adapter says which
        cmd.payload({"effect_identifier": "dying_light"})
    with pytest.raises(ValueError, match=r"dying_light|delayed_all_off"):
        cmd.payload({"effect_identifier": "sparkle", "effect_variant": 0})
    assert vendor_command(0x0006, 0x99) is None  # not in the data model: no fields to type


def test_timed_commands_keep_the_timed_invoke() -> None:
    made = vendor_command(0x0101, 0x1A)  # DoorLock SetUser must be a timed invoke
    assert made is not None and made[1].timed_ms is not None
    made = vendor_command(0x0006, 0x40)
    assert made is not None and made[1].timed_ms is None


def test_unmapped_events_become_typed_vendor_events() -> None:
    (mapping,) = map_dump(load_built("door_lock_unbolt.json"))
    assert mapping.description is not None
    comp = mapping.description.component("ep1")
    assert comp is not None
    lock, vendor = comp.capability("dhi.lock"), comp.capability("x.matter.door_lock")
    assert lock is not None and vendor is not None and vendor.definition is not None
    # the row translates lock alarms and operations; the door state change is kept as vendor
    lock_events, vendor_events = lock.events or [], vendor.events or []
    assert "lock_operation" in lock_events and "door_state_change" not in lock_events
    assert "door_state_change" in vendor_events and "lock_operation" not in vendor_events
    (door,) = [e for e in vendor.definition.events if e.name == "door_state_change"]
    assert door.payload["properties"]["door_state"]["type"] == "string"
    assert "door_ajar" in door.payload["properties"]["door_state"]["enum"]
    made = vendor_event(0x0101, 0x01)
    assert made is not None
    assert made[1].translate({"doorState": 2}) == ("door_state_change", {"door_state": "door_jammed"})
    # a field of the wrong type is left out, the event is kept
    assert made[1].translate({"doorState": "open"}) == ("door_state_change", {})


def test_metadata_clusters_get_no_vendor_events() -> None:
    (mapping,) = map_dump(load("mock_onoff_light.json"))
    assert mapping.description is not None
    root = mapping.description.component("ep0")
    assert root is not None
    info = root.capability("x.matter.basic_information")  # its leftover attributes, no events
    assert info is not None and info.events == []


def test_vendor_features_are_counted_as_vendor() -> None:
    (mapping,) = map_dump(load("mock_onoff_light.json"))
    assert mapping.description is not None
    comp = mapping.description.component("ep1")
    assert comp is not None
    vendor_caps = [c.id for c in comp.capabilities if c.id.startswith("x.")]
    assert "x.matter.on_off" in vendor_caps
    assert mapping.vendor >= len([c for c in mapping.description.capability_ids() if c.startswith("x.")])
    assert not any("OnOff" in u.reason for u in mapping.unmapped)


# ---------------------------------------------------------------- through the adapter


@pytest.fixture
async def live() -> AsyncIterator[tuple[FakeMatterServer, MatterAdapter, RecordingContext]]:
    lock = normalize_node(load_built("door_lock_unbolt.json"))
    lock["node_id"] = 1
    light = normalize_node(load("mock_onoff_light.json"))
    light["node_id"] = 2
    server = FakeMatterServer([lock, light])
    await server.start()
    ctx = RecordingContext(adapter="matter")
    adapter = MatterAdapter(MatterConfig(url=server.url, reconnect_initial=0.01, command_timeout=2))
    await adapter.start(ctx)
    await until(lambda: "matter:2" in ctx.devices, "the initial nodes")
    yield server, adapter, ctx
    await adapter.stop()
    for task in ctx.tasks:
        task.cancel()
    await server.stop()


async def test_vendor_event_and_command_through_the_adapter(live: Any) -> None:
    server, adapter, ctx = live
    await server.push(
        "node_event",
        {
            "node_id": 1,
            "endpoint_id": 1,
            "cluster_id": 0x0101,
            "event_id": 0x01,  # DoorStateChange
            "event_number": 1,
            "priority": 1,
            "timestamp": 0,
            "timestamp_type": 0,
            "data": {"doorState": 1},
        },
    )
    await until(lambda: ctx.events, "the vendor event")
    assert ctx.events == [
        ("matter:1", "ep1", "x.matter.door_lock", "door_state_change", {"door_state": "door_closed"})
    ]
    assert not ctx.rejected  # the payload fits the vendor event's published definition

    off = request(
        "matter:2",
        "ep1",
        "x.matter.on_off",
        "off_with_effect",
        effect_identifier="delayed_all_off",
        effect_variant=1,
    )
    result = await adapter.execute(off)
    assert result.status == "ok", result.error
    assert server.commands[-1]["args"] == {
        "node_id": 2,
        "endpoint_id": 1,
        "cluster_id": 6,
        "command_name": "OffWithEffect",
        "payload": {"effectIdentifier": 0, "effectVariant": 1},
    }
    bad = await adapter.execute(off.model_copy(update={"params": {"effect_variant": 1}}))
    assert bad.status == "error" and bad.error is not None and "effect_identifier" in bad.error.message
