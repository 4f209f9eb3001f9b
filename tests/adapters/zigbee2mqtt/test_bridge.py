"""The bridge model against recorded Zigbee2MQTT payloads (no broker: see test_live.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from adapters.zigbee2mqtt.bridge import Bridge
from tests.adapters.zigbee2mqtt.support import load_devices
from tests.support.recording import RecordingContext

CLIMATE = "zigbee2mqtt:0x00158d000945f2b1"  # Aqara WSDCGQ11LM "Climate sensor"
CONTACT = "zigbee2mqtt:0x00158d00091e7bd6"  # Aqara MCCGQ11LM "Contact sensor"
LIGHT = "zigbee2mqtt:0xa4c138071003495f"  # Gledopto GL-S-006P "Gledopto RGBCTT light I"
RELAY = "zigbee2mqtt:0x54ef4410009716a8"  # Aqara LLKZMK12LM dual relay (endpoints l1/l2)
BUTTON = "zigbee2mqtt:0x00158d0008066798"  # Aqara WXKG11LM "Scenes button"
LEAK = "zigbee2mqtt:0x00158d00094d5a84"  # Aqara SJCGQ11LM "Leak sensor"


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture
def ctx() -> RecordingContext:
    return RecordingContext(adapter="zigbee2mqtt")


@pytest.fixture
def bridge(ctx: RecordingContext) -> Bridge:
    b = Bridge(ctx)
    b.handle("bridge/devices", j(load_devices()), retain=True)
    return b


def test_devices_appear_with_ieee_ids(bridge: Bridge, ctx: RecordingContext) -> None:
    assert len(ctx.devices) == 34  # 35 entries minus the coordinator
    assert all(d.startswith("zigbee2mqtt:0x") for d in ctx.devices)
    desc = ctx.devices[CLIMATE]
    assert desc.name == "Climate sensor"
    assert desc.model == "WSDCGQ11LM"
    assert {"dhi.temperature", "dhi.humidity", "dhi.pressure", "dhi.battery"} <= set(desc.capability_ids())
    assert ctx.invalid == [] and ctx.rejected == []


def test_state_is_converted_to_dhi_units(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle(
        "Climate sensor",
        j(
            {
                "temperature": 21.37,
                "humidity": 48.2,
                "pressure": 1008.5,
                "battery": 97,
                "voltage": 3005,
                "linkquality": 120,
            }
        ),
    )
    assert ctx.rejected == []
    assert ctx.value(CLIMATE, "dhi.temperature", "temperature") == 21.37
    assert ctx.value(CLIMATE, "dhi.humidity", "humidity") == 48.2
    assert ctx.value(CLIMATE, "dhi.pressure", "pressure") == 1008.5
    assert ctx.value(CLIMATE, "dhi.battery", "percentage") == 97
    assert ctx.value(CLIMATE, "dhi.battery", "voltage") == pytest.approx(3.005)  # mV -> V
    assert ctx.value(CLIMATE, "dhi.connectivity", "link_quality") == 120


def test_light_state_scales_brightness_and_mireds(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle(
        "Gledopto RGBCTT light I",
        j({"state": "ON", "brightness": 127, "color_temp": 250, "color": {"x": 0.3, "y": 0.31}}),
    )
    assert ctx.rejected == []
    assert ctx.value(LIGHT, "dhi.on_off", "on") is True
    assert ctx.value(LIGHT, "dhi.level", "level") == 50.0
    assert ctx.value(LIGHT, "dhi.color_temperature", "color_temperature") == 4000
    assert ctx.value(LIGHT, "dhi.color", "x") == 0.3
    assert ctx.value(LIGHT, "dhi.color", "y") == 0.31


def test_contact_true_means_closed(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Contact sensor", j({"contact": False}))
    assert ctx.value(CONTACT, "dhi.contact", "contact") is False
    bridge.handle("Contact sensor", j({"contact": True}))
    assert ctx.value(CONTACT, "dhi.contact", "contact") is True


def test_endpoints_become_components(bridge: Bridge, ctx: RecordingContext) -> None:
    desc = ctx.devices[RELAY]
    assert {c.id for c in desc.components} >= {"main", "l1", "l2"}
    bridge.handle("Aqara Dual relay module T2", j({"state_l1": "ON", "state_l2": "OFF"}))
    assert ctx.value(RELAY, "dhi.on_off", "on", component="l1") is True
    assert ctx.value(RELAY, "dhi.on_off", "on", component="l2") is False


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"state":"online"}', True),
        (b'{"state":"offline"}', False),
        (b"online", True),  # legacy_availability_payload
        (b"offline", False),
    ],
)
def test_availability_both_forms(
    bridge: Bridge, ctx: RecordingContext, payload: bytes, expected: bool
) -> None:
    bridge.handle("Climate sensor/availability", payload, retain=True)
    assert ctx.availability_of(CLIMATE)[0] is expected
    assert ctx.invalid == []


def test_bad_availability_is_counted(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Climate sensor/availability", b"maybe")
    bridge.handle("Climate sensor/availability", b'{"state": 1}')
    assert len(ctx.invalid) == 2
    assert ctx.availability_of(CLIMATE) is None


def test_rename_keeps_the_device_id(bridge: Bridge, ctx: RecordingContext) -> None:
    devices = load_devices()
    for d in devices:
        if d.get("ieee_address") == "0x00158d000945f2b1":
            d["friendly_name"] = "Bedroom climate"
    bridge.handle("bridge/devices", j(devices), retain=True)
    assert ctx.devices[CLIMATE].name == "Bedroom climate"
    assert ctx.removed == []
    bridge.handle("Bedroom climate", j({"temperature": 19.5}))
    assert ctx.value(CLIMATE, "dhi.temperature", "temperature") == 19.5
    # the old topic no longer belongs to the device
    bridge.handle("Climate sensor", j({"temperature": 30}))
    assert ctx.value(CLIMATE, "dhi.temperature", "temperature") == 19.5


def test_republish_without_change_does_not_republish(bridge: Bridge, ctx: RecordingContext) -> None:
    before = dict(ctx.devices)
    ctx.devices.clear()
    bridge.handle("bridge/devices", j(load_devices()), retain=True)
    assert ctx.devices == {}  # nothing changed, nothing re-published
    ctx.devices.update(before)


def test_removed_from_list_and_leave_event(bridge: Bridge, ctx: RecordingContext) -> None:
    devices = [d for d in load_devices() if d.get("ieee_address") != "0x00158d000945f2b1"]
    bridge.handle("bridge/devices", j(devices), retain=True)
    assert ctx.removed == [CLIMATE]
    bridge.handle(
        "bridge/event",
        j(
            {
                "type": "device_leave",
                "data": {"ieee_address": "0x00158d00091e7bd6", "friendly_name": "Contact sensor"},
            }
        ),
    )
    assert ctx.removed == [CLIMATE, CONTACT]


def test_interview_event_maps_the_new_device(ctx: RecordingContext) -> None:
    bridge = Bridge(ctx)
    leak = next(d for d in load_devices() if d.get("ieee_address") == "0x00158d00094d5a84")
    bridge.handle(
        "bridge/event",
        j({"type": "device_joined", "data": {"ieee_address": leak["ieee_address"], "friendly_name": "new"}}),
    )
    assert ctx.devices == {}
    bridge.handle(
        "bridge/event",
        j(
            {
                "type": "device_interview",
                "data": {
                    "ieee_address": leak["ieee_address"],
                    "friendly_name": "new",
                    "status": "successful",
                    "supported": True,
                    "definition": leak["definition"],
                },
            }
        ),
    )
    assert LEAK in ctx.devices
    bridge.handle("new", j({"water_leak": True}))
    assert ctx.value(LEAK, "dhi.water_leak", "water_leak") is True
    assert [e.event for e in ctx.events] == ["alarm"]


def test_state_before_devices_is_replayed(ctx: RecordingContext) -> None:
    bridge = Bridge(ctx)
    bridge.handle("Climate sensor", j({"temperature": 22.5}), retain=True)
    bridge.handle("Climate sensor/availability", b'{"state":"online"}', retain=True)
    assert ctx.states == []
    bridge.handle("bridge/devices", j(load_devices()), retain=True)
    assert ctx.value(CLIMATE, "dhi.temperature", "temperature") == 22.5
    assert ctx.availability_of(CLIMATE) == (True, None)


def test_button_actions_become_events(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Scenes button", j({"action": "single", "battery": 100}))
    bridge.handle("Scenes button", j({"action": "double"}))
    bridge.handle("Scenes button", j({"action": "hold"}))
    bridge.handle("Scenes button", j({"action": ""}))  # z2m clears the action: no event
    assert [e.event for e in ctx.events if e.device == BUTTON] == [
        "pressed",
        "double_pressed",
        "long_pressed",
    ]
    assert ctx.value(BUTTON, "dhi.button", "last_action") == "hold"


def test_retained_action_is_not_an_event(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Scenes button", j({"action": "single"}), retain=True)
    assert ctx.events == []


def test_bridge_offline_marks_devices_unavailable(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Climate sensor/availability", b"online")
    bridge.handle("bridge/state", b'{"state":"offline"}', retain=True)
    assert ctx.availability_of(CLIMATE) == (False, "Zigbee2MQTT bridge offline")
    bridge.handle("Climate sensor/availability", b"online")  # ignored while the bridge is down
    assert ctx.availability_of(CLIMATE)[0] is False
    bridge.handle("bridge/state", b"online", retain=True)
    assert ctx.availability_of(CLIMATE)[0] is True


def test_bad_values_are_counted_and_others_kept(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Climate sensor", j({"temperature": "hot", "humidity": 40}))
    assert ctx.value(CLIMATE, "dhi.humidity", "humidity") == 40
    assert ctx.value(CLIMATE, "dhi.temperature", "temperature") is None
    assert len(ctx.invalid) == 1 and "temperature" in ctx.invalid[0].reason


def test_null_and_unknown_keys_are_not_errors(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle(
        "Climate sensor",
        j({"temperature": None, "last_seen": "2024-01-01T00:00:00Z", "update": {"state": "idle"}}),
    )
    assert ctx.invalid == [] and ctx.rejected == []


def test_commands_topics_are_ignored(bridge: Bridge, ctx: RecordingContext) -> None:
    bridge.handle("Climate sensor/set", b"garbage")
    bridge.handle("Climate sensor/get", b"garbage")
    bridge.handle("Climate sensor/set/state", b"ON")
    assert ctx.invalid == []


def test_malformed_bridge_devices(ctx: RecordingContext) -> None:
    bridge = Bridge(ctx)
    bridge.handle("bridge/devices", b"{not json")
    bridge.handle("bridge/devices", j({"devices": []}))
    good = copy.deepcopy(load_devices())
    good.append({"friendly_name": "no ieee"})
    bridge.handle("bridge/devices", j(good))
    assert len(ctx.invalid) == 3
    assert len(ctx.devices) == 34  # the broken entry costs only itself


class _Ordered(RecordingContext):
    """Records every report in the order the bridge hands it over, and the batches."""

    def __init__(self) -> None:
        super().__init__(adapter="zigbee2mqtt")
        self.log: list[tuple[Any, ...]] = []
        self.batches: list[int] = []

    def publish_states(self, reports: list[tuple[str, str, str, dict[str, Any]]], **kw: Any) -> int:
        self.batches.append(len(reports))
        return super().publish_states(reports, **kw)

    def publish_state(self, device_id: str, capability: str, properties: dict[str, Any], **kw: Any) -> bool:
        self.log.append(("state", device_id, capability, dict(properties)))
        return super().publish_state(device_id, capability, properties, **kw)

    def publish_event(self, device_id: str, capability: str, event: str, *args: Any, **kw: Any) -> bool:
        self.log.append(("event", device_id, capability, event))
        return super().publish_event(device_id, capability, event, *args, **kw)

    def set_available(self, device_id: str, available: bool, *args: Any, **kw: Any) -> bool:
        self.log.append(("available", device_id, available))
        return super().set_available(device_id, available, *args, **kw)


def test_one_read_in_one_batch_keeps_the_order_of_one_by_one() -> None:
    """``handle_many`` (one MQTT read) reports what ``handle`` message by message would, in
    the same order — states batched, flushed before each event and availability change —
    and a bad message in the read costs only itself."""
    read = [
        ("Climate sensor", j({"temperature": 20.5, "humidity": 40}), False),
        ("Scenes button", j({"action": "single", "battery": 90}), False),  # state, then an event
        ("Climate sensor", j({"temperature": "hot", "humidity": 41}), False),  # one bad value
        ("Climate sensor", b"{not json", False),  # a bad message
        ("Climate sensor/availability", b"offline", False),
        ("Climate sensor", j({"temperature": 21.0}), False),
        ("Scenes button", j({"action": "double"}), False),
        ("Leak sensor", j({"water_leak": True, "battery": 80}), False),
    ]
    one, many = _Ordered(), _Ordered()
    for ctx_ in (one, many):
        b = Bridge(ctx_)
        b.handle("bridge/devices", j(load_devices()), retain=True)
        ctx_.log.clear()
        if ctx_ is one:
            for message in read:
                b.handle(*message)
        else:
            b.handle_many(read)
    assert many.log == one.log
    assert [e[0] for e in many.log].count("event") == 3  # single, double, the leak starting
    assert len(many.invalid) == len(one.invalid) == 2
    assert max(many.batches) > 1  # reports were handed over together, not one call each
