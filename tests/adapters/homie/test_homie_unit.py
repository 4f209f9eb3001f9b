"""Homie mapping on documented $description files, value codecs, and fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.homie import HomieAdapter, HomieConfig
from adapters.homie.model import decode_value, describe, encode_value, parse_description, parse_format
from adapters.sdk import build_report
from adapters.sdk.mqtt import MqttMessage, PayloadError
from tests.adapters.homie.device import FIXTURES, description
from tests.support.recording import RecordingContext

NAMES = sorted(p.name.removesuffix(".description.json") for p in FIXTURES.glob("*.description.json"))


@pytest.mark.parametrize("name", NAMES)
def test_every_description_maps_and_registers(name: str) -> None:
    device = describe(name, parse_description(description(name)), "homie")
    ctx = RecordingContext(adapter="homie")
    assert ctx.publish_device(device.description), ctx.rejected
    assert device.features.unmapped == []


def test_offline_report_and_mapping_choices() -> None:
    report = build_report(
        "homie", HomieAdapter.map_offline([{"id": n, "description": description(n)} for n in NAMES])
    ).model_dump()
    by_id = {d["id"]: d for d in report["devices"]}
    assert by_id["homie:smart-plug"]["components"] == {
        "switch": ["dhi.on_off"],
        "meter": ["dhi.power", "dhi.energy", "dhi.voltage"],
    }
    assert by_id["homie:climate-sensor"]["components"]["thermostat"] == [
        "dhi.thermostat",
        "x.homie.thermostat",
    ]
    assert report["summary"]["unmapped_features"] == 0
    broken = HomieAdapter.map_offline({"homie": "4.0", "version": 1, "nodes": {}})
    assert broken[0].unmapped[0].reason.startswith("$description: homie: String should match pattern")


def test_vendor_properties_keep_type_unit_range_access() -> None:
    device = describe("gadget", parse_description(description("gadget")), "homie")
    fan = device.description.component("fan")
    assert fan is not None
    vendor = fan.capability("x.homie.fan")
    assert vendor is not None and vendor.definition is not None
    props = {p.name: p for p in vendor.definition.properties}
    speed = props["speed"]
    assert (speed.type.value, speed.unit, speed.minimum, speed.maximum) == ("integer", None, 0, 3000)
    assert speed.label is not None and speed.label.en == "speed (rpm)"  # rpm is not a UCUM unit of units.yaml
    assert props["schedule"].type.value == "object" and props["schedule"].writable
    assert props["last_service"].type.value == "string" and not props["last_service"].writable
    climate = describe("climate-sensor", parse_description(description("climate-sensor")), "homie")
    mode = climate.description.component("thermostat").capability("x.homie.thermostat")  # type: ignore[union-attr]
    assert mode is not None and mode.definition is not None
    assert mode.definition.property("mode").enum == ["off", "heat", "eco"]  # type: ignore[union-attr]


def test_value_codecs() -> None:
    lamp = describe("dimmer-light", parse_description(description("dimmer-light")), "homie")
    brightness = lamp.props[("light", "brightness")]
    assert decode_value(brightness, b"255") == 100
    assert encode_value(brightness, 50) == b"128"  # 0..100 % onto the device's 0:255
    assert decode_value(lamp.props[("light", "on")], b"true") is True
    assert decode_value(lamp.props[("light", "color")], b"rgb,255,0,0") == "rgb,255,0,0"
    for pm_key, payload, reason in [
        (("light", "on"), b"yes", "must be 'true' or 'false'"),
        (("light", "brightness"), b"12.5", "integer value expected"),
        (("light", "color"), b"red", "color value must be"),
    ]:
        with pytest.raises(PayloadError, match=reason):
            decode_value(lamp.props[pm_key], payload)
    assert parse_format("enum", "a,,b,c").values == ("a,b", "c")
    assert parse_format("float", ":100:0.5").maximum == 100
    with pytest.raises(PayloadError, match="min is greater than max"):
        parse_format("integer", "10:1")


def _running(name: str = "climate-sensor") -> tuple[HomieAdapter, RecordingContext]:
    adapter = HomieAdapter(HomieConfig())
    ctx = RecordingContext(adapter="homie")
    adapter.bind(ctx)
    return adapter, ctx


def msg(device: str, path: str, payload: Any) -> MqttMessage:
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return MqttMessage(f"homie/5/{device}/{path}", body, 1, True)


def test_values_before_description_are_held() -> None:
    adapter, ctx = _running()
    adapter.handle(msg("climate-sensor", "sensor/temperature", b"71.5"))
    adapter.handle(msg("climate-sensor", "$state", b"ready"))
    adapter.handle(msg("climate-sensor", "$description", description("climate-sensor")))
    dev = "homie:climate-sensor"
    assert ctx.state_of(dev, "dhi.temperature", "sensor") == {"temperature": 71.5}
    assert ctx.available[dev] is True
    adapter.handle(msg("climate-sensor", "$state", b"sleeping"))
    assert ctx.available[dev] is False
    adapter.handle(msg("climate-sensor", "$description", b""))
    assert ctx.removed == [dev]
    assert ctx.invalid == [] and ctx.rejected == []


@pytest.mark.parametrize(
    ("path", "payload", "reason"),
    [
        ("sensor/temperature", b"hot", "sensor/temperature: float value expected, got 'hot'"),
        ("sensor/temperature", b"-300", "-300.0 is outside -273.15..1000 Cel"),
        ("sensor/battery", b"101", "101 is outside 0..100 %"),
        ("thermostat/mode", b"turbo", "enum value 'turbo' is not one of off, heat, eco"),
        ("thermostat/window-open", b"1", "boolean value must be 'true' or 'false', got '1'"),
        ("$state", b"alert", "$state must be one of ready, init, disconnected, sleeping, lost"),
        ("$description", b"[]", "$description must be a JSON object, got list"),
        (
            "$description",
            {"homie": "5.0", "version": "x"},
            "$description: version: Input should be a valid integer",
        ),
        ("$description", {"homie": "5.0", "version": 1, "nodes": {"Bad_Node": {}}}, "nodes.Bad_Node.[key]"),
    ],
)
def test_invalid_messages_are_reported(path: str, payload: Any, reason: str) -> None:
    adapter, ctx = _running()
    adapter.handle(msg("climate-sensor", "$description", description("climate-sensor")))
    adapter.handle(msg("climate-sensor", path, payload))
    assert len(ctx.invalid) == 1, ctx.invalid
    assert reason in ctx.invalid[0].reason
    assert ctx.states == [] and ctx.rejected == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=15,
)
prop_docs = st.fixed_dictionaries(
    {"datatype": st.sampled_from(["integer", "float", "boolean", "string", "enum", "color", "json", "bogus"])},
    optional={"format": st.text(max_size=10), "unit": st.sampled_from(["%", "°C", "W", "rpm", ""]),
              "settable": st.booleans(), "retained": json_values},
)  # fmt: skip
descriptions = st.fixed_dictionaries(
    {"homie": st.sampled_from(["5.0", "5.1", "4.0"]), "version": st.integers(),
     "nodes": st.dictionaries(st.sampled_from(["sensor", "light", "x-1", "Bad"]),
                              st.fixed_dictionaries({"properties": st.dictionaries(st.sampled_from(["temperature", "on", "brightness", "p-2"]), prop_docs, max_size=3)}),
                              max_size=2)},
)  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(
        ["$description", "$state", "sensor/temperature", "thermostat/mode", "sensor/battery", "light/on"]
    ),
    payload=st.binary(max_size=120) | descriptions.map(lambda d: json.dumps(d).encode()),
)
def test_fuzz_never_crashes(path: str, payload: bytes) -> None:
    adapter, ctx = _running()
    adapter.handle(msg("climate-sensor", "$description", description("climate-sensor")))
    adapter.handle(msg("climate-sensor", path, payload))
    assert ctx.rejected == []
    assert all(inv.reason and inv.source for inv in ctx.invalid)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(descriptions)
def test_fuzz_descriptions_map_or_fail_cleanly(doc: dict[str, Any]) -> None:
    (mapping,) = HomieAdapter.map_offline(doc)
    if mapping.description is not None:
        assert RecordingContext(adapter="homie").publish_device(mapping.description)
    else:
        assert mapping.unmapped and mapping.unmapped[0].reason
