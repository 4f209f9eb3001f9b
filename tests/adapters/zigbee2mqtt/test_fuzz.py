"""Fuzzing the payload parsers: any bytes / any JSON on any Zigbee2MQTT topic never raises,
and what cannot be used is counted through ``ctx.report_invalid``."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.zigbee2mqtt.bridge import Bridge
from adapters.zigbee2mqtt.exposes import parse_devices
from adapters.zigbee2mqtt.offline import map_offline
from tests.adapters.zigbee2mqtt.support import load_devices
from tests.support.recording import RecordingContext

DEVICES = json.dumps(load_devices()).encode()
NAMES = [
    "Climate sensor",
    "Gledopto RGBCTT light I",
    "Scenes button",
    "Aqara Dual relay module T2",
    "unknown",
]
TOPICS = st.one_of(
    st.sampled_from(["bridge/devices", "bridge/event", "bridge/state", "bridge/info", "bridge/groups"]),
    st.sampled_from(NAMES),
    st.sampled_from([n + "/availability" for n in NAMES]),
    st.text(max_size=30),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
state_keys = st.sampled_from(
    [
        "temperature",
        "humidity",
        "state",
        "brightness",
        "color",
        "color_temp",
        "action",
        "battery",
        "state_l1",
        "voltage",
        "linkquality",
        "pressure",
        "action_duration",
        "power",
    ]
)
state_objects = st.dictionaries(state_keys, json_values, max_size=6)


_SHARED: list[tuple[RecordingContext, Bridge]] = []


def loaded() -> tuple[RecordingContext, Bridge]:
    """One bridge for all examples (mapping 34 devices per example would dominate the run):
    each example starts with the recorded device list re-applied — a no-op unless an earlier
    example's random bridge/devices replaced it — and with empty report lists."""
    if not _SHARED:
        ctx = RecordingContext(adapter="zigbee2mqtt")
        _SHARED.append((ctx, Bridge(ctx, max_pending=16)))
    ctx, bridge = _SHARED[0]
    bridge.handle("bridge/state", b"online")
    bridge.handle("bridge/devices", DEVICES, retain=True)
    ctx.invalid.clear()
    ctx.rejected.clear()
    return ctx, bridge


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.tuples(TOPICS, st.binary(max_size=200), st.booleans()), max_size=10))
def test_arbitrary_bytes_never_raise(messages: list[tuple[str, bytes, bool]]) -> None:
    ctx, bridge = loaded()
    for topic, payload, retain in messages:
        bridge.handle(topic, payload, retain)
    assert ctx.rejected == [], ctx.rejected  # whatever got through was valid for the hub


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.tuples(TOPICS, json_values, st.booleans()), max_size=10))
def test_arbitrary_json_never_raises(messages: list[tuple[str, Any, bool]]) -> None:
    ctx, bridge = loaded()
    for topic, value, retain in messages:
        bridge.handle(topic, json.dumps(value).encode(), retain)
    assert ctx.rejected == [], ctx.rejected


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES[:4]), state=state_objects)
def test_device_state_objects_publish_only_valid_values(name: str, state: dict[str, Any]) -> None:
    ctx, bridge = loaded()
    bridge.handle(name, json.dumps(state).encode())
    assert ctx.rejected == [], ctx.rejected


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NAMES[:4]), value=json_values)
def test_non_object_state_is_counted_once(name: str, value: Any) -> None:
    ctx, bridge = loaded()
    before = len(ctx.invalid)
    bridge.handle(name, json.dumps(value).encode())
    if isinstance(value, dict):
        return
    assert len(ctx.invalid) == before + 1


@settings(max_examples=200, deadline=None)
@given(
    garbage=st.binary(min_size=1, max_size=50).filter(lambda b: not b.strip().startswith((b"{", b"[", b'"')))
)
def test_invalid_json_on_a_device_topic_is_counted(garbage: bytes) -> None:
    try:
        json.loads(garbage)
        return  # happens to be JSON (a number, true …): covered above
    except (ValueError, UnicodeDecodeError):
        pass
    ctx, bridge = loaded()
    bridge.handle("Climate sensor", garbage)
    assert len(ctx.invalid) == 1


@settings(max_examples=200, deadline=None)
@given(data=json_values)
def test_parse_devices_and_map_offline_accept_anything(data: Any) -> None:
    parse_devices(data)
    map_offline(data)


@settings(max_examples=100, deadline=None)
@given(
    entries=st.lists(
        st.dictionaries(
            st.sampled_from(
                ["ieee_address", "friendly_name", "definition", "type", "interviewing", "disabled"]
            ),
            json_values,
            max_size=6,
        ),
        max_size=5,
    )
)
def test_bridge_devices_with_random_entries(entries: list[dict[str, Any]]) -> None:
    ctx = RecordingContext(adapter="zigbee2mqtt")
    bridge = Bridge(ctx)
    bridge.handle("bridge/devices", json.dumps(entries).encode(), retain=True)
    assert ctx.rejected == [], ctx.rejected


def test_pending_messages_are_bounded() -> None:
    ctx = RecordingContext(adapter="zigbee2mqtt")
    bridge = Bridge(ctx, max_pending=5)
    for i in range(50):
        bridge.handle(f"ghost {i}", b'{"temperature": 1}', retain=True)
    assert len(bridge._pending) == 5
