"""Shelly mapping on the real recorded dumps, notification handling, and fuzzing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sdk import build_report
from adapters.sdk.mqtt import MqttMessage
from adapters.shelly import ShellyAdapter, ShellyConfig
from adapters.shelly.mapping import rpc_error
from adapters.shelly.model import describe, states
from tests.adapters.shelly.device import load_dump, notify_status
from tests.conftest import SHARED_FIXTURES
from tests.support.recording import RecordingContext

SHARED = SHARED_FIXTURES / "shelly"
GEN2_DUMPS = sorted(p.name for p in (SHARED / "device_dumps").glob("gen2_*.json"))
DEV = "shelly:shellyplus1pm-aabbccddeeff"


@pytest.mark.parametrize("name", GEN2_DUMPS)
def test_every_gen2_dump_maps_and_its_states_validate(name: str) -> None:
    dump = json.loads((SHARED / "device_dumps" / name).read_text(encoding="utf-8"))
    device = describe(dump["shelly"], dump["config"], dump["status"], "shelly")
    ctx = RecordingContext(adapter="shelly")
    assert ctx.publish_device(device.description), ctx.rejected
    result = states(device, dump["status"])
    assert result.errors == []
    for (comp, cap), props in result.reports.items():
        assert ctx.publish_state(device.description.id, cap, props, component=comp), ctx.rejected


def test_plus_1pm_mapping_values(shared_fixtures: Path) -> None:
    dump = load_dump(shared_fixtures)
    device = describe(dump["shelly"], dump["config"], dump["status"], "shelly")
    desc = device.description
    assert (desc.id, desc.manufacturer, desc.model, desc.firmware) == (
        DEV,
        "Shelly",
        "SNSW-001P16EU",
        "1.1.0",
    )
    switch = desc.component("switch_0")
    assert switch is not None and switch.label == "Switch Test Name 0"
    on_off = switch.capability("dhi.on_off")
    assert on_off is not None and on_off.commands == ["on", "off", "toggle"]
    reports = states(device, dump["status"]).reports
    assert reports[("switch_0", "dhi.on_off")] == {"on": False}
    assert reports[("switch_0", "dhi.energy")] == {"energy": pytest.approx(0.110046)}  # 110.046 Wh
    assert reports[("switch_0", "dhi.voltage")] == {"voltage": 232.8}
    assert reports[("switch_0", "dhi.device_temperature")] == {"temperature": 30.3}
    assert reports[("main", "dhi.connectivity")]["rssi"] < 0
    assert reports[("input_0", "x.shelly.input")] == {"state": False}


def test_pro_3em_phases_and_energy(shared_fixtures: Path) -> None:
    dump = load_dump(
        shared_fixtures, "device_dumps/gen2_Shelly Pro 3EM_SPEM-003CEBEU_20231219-134001-1.1.0-g34b5d4f.json"
    )
    device = describe(dump["shelly"], dump["config"], dump["status"], "shelly")
    reports = states(device, dump["status"]).reports
    assert reports[("em_0_a", "dhi.power")] == {"power": 375.5, "apparent_power": 547.4}
    assert reports[("em_0", "dhi.energy")]["energy"] == pytest.approx(2589.77339)
    assert reports[("em_0_c", "dhi.energy")]["produced_energy"] == pytest.approx(0.98591)


def test_offline_report_on_rpc_replies(shared_fixtures: Path) -> None:
    base = shared_fixtures / "shelly" / "rpc_device" / "shelly2pmg3"
    status = json.loads((base / "Shelly.GetStatus.json").read_text(encoding="utf-8"))
    report = build_report("shelly", ShellyAdapter.map_offline(status)).model_dump()
    (dev,) = report["devices"]
    assert "dhi.window_covering" in dev["components"]["cover_0"]
    # the virtual number component is not mapped, and says so
    assert dev["unmapped"] == [{"feature": "number:200", "reason": "Shelly component type not mapped"}]
    full = ShellyAdapter.map_offline(
        {
            "Shelly.GetStatus": json.loads(
                (shared_fixtures / "shelly/rpc_device/shellymini1gen4/Shelly.GetStatus.json").read_text()
            ),
            "Shelly.GetDeviceInfo": json.loads(
                (shared_fixtures / "shelly/rpc_device/shellymini1gen4/Shelly.GetDeviceInfo.json").read_text()
            ),
        }
    )
    assert full[0].id == "shelly:shelly1minig4-aabbccddeeff" and full[0].description is not None
    assert full[0].description.model == "S4SW-001X8EU"
    assert ShellyAdapter.map_offline([42])[0].unmapped[0].reason == "expected a JSON object, got int"


def test_rpc_error_codes_map_to_dhi_errors() -> None:
    assert rpc_error(-103, "bad").code == "invalid_params"
    assert rpc_error(-105, "nope").code == "unsupported"
    assert rpc_error(401, "auth").code == "adapter_error"
    assert rpc_error(-999, "?").code == "adapter_error"


def _known_adapter(shared_fixtures: Path) -> tuple[ShellyAdapter, RecordingContext]:
    """An adapter that has already probed the Plus 1PM (probe replaced by describe())."""
    from adapters.shelly.adapter import _Entry

    adapter = ShellyAdapter(ShellyConfig())
    ctx = RecordingContext(adapter="shelly")
    adapter.bind(ctx)
    dump = load_dump(shared_fixtures)
    device = describe(dump["shelly"], dump["config"], dump["status"], "shelly")
    ctx.publish_device(device.description)
    adapter._entries["shellyplus1pm-aabbccddeeff"] = _Entry("shellyplus1pm-aabbccddeeff", device)
    return adapter, ctx


def frame(payload: Any, suffix: str = "events/rpc") -> MqttMessage:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return MqttMessage(f"shellyplus1pm-aabbccddeeff/{suffix}", body, 0, False)


def test_notify_status_and_event(shared_fixtures: Path) -> None:
    adapter, ctx = _known_adapter(shared_fixtures)
    status = load_dump(shared_fixtures)["status"]["switch:0"]
    adapter.handle(frame(notify_status("switch:0", {**status, "output": True, "apower": 41.5})))
    assert ctx.state_of(DEV, "dhi.on_off", "switch_0") == {"on": True}
    assert ctx.state_of(DEV, "dhi.power", "switch_0") == {"power": 41.5}
    adapter.handle(frame({"method": "NotifyEvent", "params": {"ts": 1.0, "events": [
        {"component": "input:0", "id": 0, "event": "single_push", "ts": 1.0}]}}))  # fmt: skip
    # input:0 is a switch-mode input on this device: a push is not a button press
    assert ctx.events == []
    adapter.handle(frame(b"false", "online"))
    assert ctx.available[DEV] is False
    assert ctx.invalid == [] and ctx.rejected == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x01", "not valid JSON"),
        ({"method": "NotifyStatus", "params": []}, "params: must be an object, got array"),
        ({"method": "Reboot", "params": {}}, "'Reboot' is not a notification"),
        ({"method": "NotifyEvent", "params": {"events": {}}}, "params.events: must be an array, got object"),
        (
            {"method": "NotifyEvent", "params": {"events": [{"component": 3}]}},
            "needs string 'component' and 'event'",
        ),
        (notify_status("switch:0", {"id": 0, "output": "on"}), "dhi.on_off.on has the wrong type: got str"),
        (notify_status("switch:0", {"id": 0, "apower": "lots"}), "has the wrong type: got str"),
        (
            notify_status("switch:0", {"id": 0, "aenergy": {"total": "x"}}),
            "aenergy.total: expected a number, got str",
        ),
        (notify_status("switch:0", 7), "switch:0: status must be an object, got int"),
        (notify_status("switch:0", {"id": 0, "temperature": {"tC": -400}}), "outside -50..200 Cel"),
    ],
)
def test_invalid_notifications_are_reported(shared_fixtures: Path, payload: Any, reason: str) -> None:
    adapter, ctx = _known_adapter(shared_fixtures)
    adapter.handle(frame(payload))
    assert len(ctx.invalid) == 1, ctx.invalid
    assert reason in ctx.invalid[0].reason
    assert ctx.states == [] and ctx.rejected == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=15,
)
components = st.sampled_from(["switch:0", "input:0", "sys", "wifi", "em:0", "cover:0", "bogus:1", "ts"])
statuses = st.dictionaries(
    components,
    json_values
    | st.dictionaries(
        st.sampled_from(["output", "apower", "aenergy", "temperature", "state", "current_pos", "id"]),
        json_values,
    ),
    max_size=4,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    payload=st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | statuses.map(lambda s: json.dumps({"method": "NotifyStatus", "params": s}).encode())
    | st.lists(json_values, max_size=3).map(
        lambda e: json.dumps({"method": "NotifyEvent", "params": {"events": e}}).encode()
    ),
    suffix=st.sampled_from(["events/rpc", "online"]),
)
async def test_fuzz_notifications_never_crash(shared_fixtures: Path, payload: bytes, suffix: str) -> None:
    adapter, ctx = _known_adapter(shared_fixtures)
    adapter.handle(frame(payload, suffix))
    assert ctx.rejected == []  # nothing invalid got past the adapter to the hub
    for inv in ctx.invalid:
        assert inv.reason and inv.source == f"shellyplus1pm-aabbccddeeff/{suffix}"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_rpc_replies_never_crash(payload: bytes) -> None:
    from adapters.sdk.mqtt import PayloadError
    from adapters.shelly.rpc import parse_reply

    try:
        parse_reply(payload)
    except PayloadError as exc:
        assert str(exc)


def test_button_input_pushes_become_button_events(shared_fixtures: Path) -> None:
    from adapters.shelly.adapter import _Entry

    dump = load_dump(shared_fixtures)
    dump["config"]["input:0"]["type"] = "button"
    dump["status"]["input:0"]["state"] = None  # buttons have no lasting state
    device = describe(dump["shelly"], dump["config"], dump["status"], "shelly")
    adapter = ShellyAdapter(ShellyConfig())
    ctx = RecordingContext(adapter="shelly")
    adapter.bind(ctx)
    ctx.publish_device(device.description)
    adapter._entries["p"] = _Entry("p", device)
    events = [
        {"component": "input:0", "id": 0, "event": "single_push"},
        {"component": "input:0", "id": 0, "event": "triple_push"},
        {"component": "input:0", "id": 0, "event": "config_changed"},  # no DHI meaning: ignored
    ]
    adapter.handle(
        MqttMessage(
            "p/events/rpc", json.dumps({"method": "NotifyEvent", "params": {"events": events}}).encode()
        )
    )
    assert ctx.events == [
        (DEV, "input_0", "dhi.button", "pressed", {}),
        (DEV, "input_0", "dhi.button", "multi_pressed", {"count": 3}),
    ]
    assert ctx.invalid == [] and ctx.rejected == []
