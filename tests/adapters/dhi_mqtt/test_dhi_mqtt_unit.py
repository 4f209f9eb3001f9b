"""DHI-MQTT message handling without a broker: validation, reasons, ordering, offline check, fuzz."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.dhi_mqtt import DhiMqttAdapter, DhiMqttConfig
from adapters.sdk import build_report
from adapters.sdk.mqtt import MqttMessage
from tests.adapters.dhi_mqtt.device import description
from tests.support.recording import RecordingContext

BASE = "dhi/v1/home"
LAMP = "dhi_mqtt:lamp-1"


def make() -> tuple[DhiMqttAdapter, RecordingContext]:
    adapter = DhiMqttAdapter(DhiMqttConfig())
    ctx = RecordingContext(adapter="dhi_mqtt", home="home")
    adapter.bind(ctx)
    return adapter, ctx


def msg(suffix: str, payload: Any, *, retain: bool = False, device: str = "lamp-1") -> MqttMessage:
    if isinstance(payload, dict | list):
        payload = json.dumps(payload).encode()
    elif isinstance(payload, str):
        payload = payload.encode()
    return MqttMessage(f"{BASE}/{device}/{suffix}", payload, 1, retain)


def state(component: str, capability: str, props: dict[str, Any]) -> MqttMessage:
    body = {"component": component, "capability": capability, "properties": props}
    return msg(f"state/{component}/{capability}", body, retain=True)


def test_description_registers_device_under_adapter_id() -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(scheme="acme"), retain=True))
    assert ctx.invalid == [] and ctx.rejected == []
    desc = ctx.devices[LAMP]
    assert desc.adapter == "dhi_mqtt" and desc.name == "Hall lamp"
    assert {c.id for c in desc.components} == {"main", "sensor", "button"}


def test_state_event_and_availability_flow() -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(), retain=True))
    adapter.handle(state("main", "dhi.on_off", {"on": True}))
    adapter.handle(state("sensor", "dhi.temperature", {"temperature": 21.5}))
    adapter.handle(state("button", "x.acme.glow", {"glow": 2}))
    adapter.handle(msg("event", {"component": "button", "capability": "dhi.button", "event": "pressed"}))
    adapter.handle(msg("avail", "offline", retain=True))
    assert ctx.invalid == [] and ctx.rejected == []
    assert ctx.state_of(LAMP, "dhi.on_off") == {"on": True}
    assert ctx.state_of(LAMP, "dhi.temperature", "sensor") == {"temperature": 21.5}
    assert ctx.state_of(LAMP, "x.acme.glow", "button") == {"glow": 2}
    assert ctx.events == [(LAMP, "button", "dhi.button", "pressed", {})]
    assert ctx.available[LAMP] is False


def test_state_and_avail_before_desc_are_held_then_applied() -> None:
    """Retained replay order across topics is not fixed: state may come before desc."""
    adapter, ctx = make()
    adapter.handle(state("main", "dhi.on_off", {"on": True}))
    adapter.handle(msg("avail", "offline", retain=True))
    assert ctx.states == [] and ctx.invalid == []
    adapter.handle(msg("desc", description(), retain=True))
    assert ctx.state_of(LAMP, "dhi.on_off") == {"on": True}
    assert ctx.available[LAMP] is False


def test_empty_desc_removes_device() -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(), retain=True))
    adapter.handle(msg("desc", b"", retain=True))
    assert ctx.removed == [LAMP] and LAMP not in ctx.devices


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (msg("desc", b"{not json"), "not valid JSON"),
        (msg("desc", [1, 2]), "must be a JSON object, got array"),
        (msg("desc", {**description(), "colour": "red"}), "colour: unknown field"),
        (msg("desc", {**description(), "components": []}), "components: List should have at least 1 item"),
        (
            msg("desc", description("lamp-2")),
            "id: 'dhi:lamp-2' does not name the device of the topic (expected '<scheme>:lamp-1'",
        ),
        (
            msg("desc", {**description(), "components": [{"capabilities": [{"id": "dhi.warp_drive"}]}]}),
            "components[0].capabilities[0].id: capability 'dhi.warp_drive' is not in the DHI v1 catalog",
        ),
        (
            msg(
                "desc",
                {
                    **description(),
                    "components": [{"capabilities": [{"id": "dhi.on_off", "commands": ["fly"]}]}],
                },
            ),
            "capabilities[0].commands[0]: 'fly' is not one of the commands of dhi.on_off (expected one of on, off, toggle)",
        ),
    ],
)
def test_invalid_descriptions_are_reported_precisely(message: MqttMessage, reason: str) -> None:
    adapter, ctx = make()
    adapter.handle(message)
    assert ctx.devices == {}
    assert len(ctx.invalid) == 1, ctx.invalid
    assert reason in ctx.invalid[0].reason
    assert ctx.invalid[0].source == message.topic


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            state("main", "dhi.on_off", {"on": "yes"}),
            "properties.on has the wrong type: got str (expected boolean)",
        ),
        (
            state("main", "dhi.level", {"level": 140}),
            "properties.level: 140 is outside 0..100 % (expected 0..100 %)",
        ),
        (
            state("main", "dhi.level", {"min_level": 1}),
            "no property 'min_level' on this device (expected one of level)",
        ),
        (
            state("main", "dhi.smoke_alarm", {"smoke": True}),
            "component 'main' has no capability 'dhi.smoke_alarm'",
        ),
        (state("attic", "dhi.on_off", {"on": True}), "the device has no component 'attic'"),
        (
            msg(
                "state/main/dhi.on_off",
                {"component": "sensor", "capability": "dhi.on_off", "properties": {"on": True}},
            ),
            "payload names sensor/dhi.on_off, the topic main/dhi.on_off",
        ),
        (state("button", "x.acme.glow", {"glow": 9}), "properties.glow: 9 is outside 0..3"),
        (
            msg("event", {"capability": "dhi.button", "event": "pressed"}),
            "component 'main' has no capability 'dhi.button'",
        ),
        (
            msg("event", {"component": "button", "capability": "dhi.button", "event": "released"}),
            "dhi.button has no event 'released' on this device (expected one of pressed, long_pressed)",
        ),
        (msg("avail", "maybe"), "unknown availability 'maybe' (expected 'online' or 'offline')"),
        (msg("cmd/result", {"id": "c1", "status": "error"}), "'error' is required when status is 'error'"),
        (msg("desc", description(), device="bad dev"), "device segment 'bad dev' cannot be a device id"),
    ],
)
def test_invalid_reports_are_rejected_with_reason(message: MqttMessage, reason: str) -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(), retain=True))
    adapter.handle(message)
    assert ctx.states == [] and ctx.events == []
    assert len(ctx.invalid) == 1, ctx.invalid
    assert reason in ctx.invalid[0].reason


def test_event_before_desc_is_invalid() -> None:
    adapter, ctx = make()
    adapter.handle(msg("event", {"capability": "dhi.button", "event": "pressed"}))
    assert "has published no desc" in ctx.invalid[0].reason


def test_held_messages_are_bounded() -> None:
    adapter = DhiMqttAdapter(DhiMqttConfig(max_pending_devices=2))
    ctx = RecordingContext(adapter="dhi_mqtt")
    adapter.bind(ctx)
    for i in range(3):
        adapter.handle(msg("avail", "online", device=f"d{i}"))
    assert len(ctx.invalid) == 1 and "too many devices without a desc" in ctx.invalid[0].reason


def test_map_offline_report() -> None:
    broken = {
        **description("x"),
        "components": [{"capabilities": [{"id": "dhi.on_off"}, {"id": "dhi.teleport"}]}],
    }
    mappings = DhiMqttAdapter.map_offline([description(), broken, {"name": "junk"}])
    report = build_report("dhi_mqtt", mappings).model_dump()
    lamp, partial, junk = report["devices"]
    assert lamp["id"] == "dhi_mqtt:lamp-1" and lamp["unmapped"] == []
    assert (lamp["standard"], lamp["vendor"]) == (4, 1)
    assert partial["capabilities"] == ["dhi.on_off"]
    assert partial["unmapped"] == [
        {"feature": "main/dhi.teleport", "reason": "capability not in the DHI v1 catalog"}
    ]
    assert junk["unmapped"][0]["feature"] == "desc"
    assert report["summary"]["fully_mapped"] == 1


# ---------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
suffixes = st.sampled_from(
    ["desc", "state/main/dhi.on_off", "state/main/dhi.level", "event", "avail", "cmd/result"]
)


def _mutated_docs() -> st.SearchStrategy[bytes]:
    good = [
        description(),
        {"component": "main", "capability": "dhi.on_off", "properties": {"on": True}},
        {"component": "button", "capability": "dhi.button", "event": "pressed"},
    ]
    return st.tuples(st.sampled_from(good), st.text(max_size=12), json_values).map(
        lambda t: json.dumps({**t[0], t[1]: t[2]}).encode()
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=suffixes,
    payload=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()) | _mutated_docs(),
)
def test_fuzz_never_crashes_and_counts_invalid(suffix: str, payload: bytes) -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(), retain=True))
    before = (len(ctx.states), len(ctx.events), len(ctx.invalid))
    adapter.handle(MqttMessage(f"{BASE}/lamp-1/{suffix}", payload, 1, False))
    after = (len(ctx.states), len(ctx.events), len(ctx.invalid))
    # every message was either accepted (state/event/avail/desc) or reported — and the hub never
    # had to refuse what the adapter let through
    assert ctx.rejected == []
    if after == before and suffix in ("state/main/dhi.on_off", "state/main/dhi.level", "event"):
        assert payload == b"", payload
    for inv in ctx.invalid:
        assert inv.reason and inv.source == f"{BASE}/lamp-1/{suffix}"


# ---------------------------------------------------------------- limits (BINDING R12.2-3, R12.2-4)


def test_a_payload_over_its_size_limit_is_rejected_unread() -> None:
    adapter, ctx = make()
    adapter.handle(msg("desc", description(), retain=True))
    huge = {"component": "main", "capability": "dhi.on_off", "properties": {"on": True}, "x": "a" * 70_000}
    adapter.handle(msg("state/main/dhi.on_off", huge, retain=True))
    assert len(ctx.invalid) == 1 and "exceeds the limit of 65536 bytes" in ctx.invalid[0].reason
    assert ctx.state_of(LAMP, "dhi.on_off") != {"on": True}


def test_live_state_beyond_the_rate_limit_is_dropped_and_counted_but_retained_replay_is_not() -> None:
    adapter, ctx = make()
    now = [0.0]
    adapter.monotonic = lambda: now[0]  # type: ignore[method-assign]
    adapter.handle(msg("desc", description(), retain=True))
    for i in range(150):  # all at one instant: the burst of 100, then nothing left
        body = {"component": "main", "capability": "dhi.on_off", "properties": {"on": i % 2 == 0}}
        adapter.handle(msg("state/main/dhi.on_off", body))
    dropped = [r for r in ctx.invalid if "rate limit" in r.reason]
    assert len(dropped) == 50
    now[0] = 1.0  # a second later, 10 more have refilled
    for _ in range(12):
        adapter.handle(
            msg(
                "state/main/dhi.on_off",
                {"component": "main", "capability": "dhi.on_off", "properties": {"on": True}},
            )
        )
    dropped = [r for r in ctx.invalid if "rate limit" in r.reason]
    assert len(dropped) == 52
    assert len(ctx.invalid) == len(dropped)
    adapter.handle(state("main", "dhi.on_off", {"on": True}))  # a replay after the hub reconnects
    assert len(ctx.invalid) == len(dropped)
    # another device has its own bucket
    adapter.handle(msg("desc", description(native="lamp-2"), retain=True, device="lamp-2"))
    adapter.handle(
        msg("state/main/dhi.on_off", {"component": "main", "capability": "dhi.on_off", "properties": {"on": True}},
            device="lamp-2")
    )  # fmt: skip
    assert len(ctx.invalid) == len(dropped)
