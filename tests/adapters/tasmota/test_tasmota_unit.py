"""Tasmota mapping on the documented payloads (tests/fixtures/tasmota), decoding, fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sdk import build_report
from adapters.sdk.mqtt import MqttMessage
from adapters.tasmota import TasmotaAdapter, TasmotaConfig
from adapters.tasmota.model import decode_sensor, decode_state, describe, parse_config
from tests.adapters.tasmota.device import FIXTURES, fixture
from tests.support.recording import RecordingContext

NAMES = sorted(p.name.removesuffix(".config.json") for p in FIXTURES.glob("*.config.json"))


def device(name: str) -> Any:
    return describe(
        parse_config(fixture(f"{name}.config.json")), fixture(f"{name}.sensors.json")["sn"], "tasmota"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_maps_and_its_sensors_validate(name: str) -> None:
    dev = device(name)
    ctx = RecordingContext(adapter="tasmota")
    assert ctx.publish_device(dev.description), ctx.rejected
    decoded = decode_sensor(dev, fixture(f"{name}.sensors.json")["sn"])
    assert decoded.errors == []
    for (comp, cap), props in decoded.reports.items():
        assert ctx.publish_state(dev.description.id, cap, props, component=comp), ctx.rejected


def test_offline_report() -> None:
    items: list[Any] = []
    for name in NAMES:  # the list form: a config followed by its sensors document
        items += [fixture(f"{name}.config.json"), fixture(f"{name}.sensors.json")]
    report = build_report("tasmota", TasmotaAdapter.map_offline(items)).model_dump()
    by_name = {d["name"]: d for d in report["devices"]}
    assert by_name["Living room bulb"]["components"]["light"] == [
        "dhi.on_off", "dhi.level", "dhi.color", "dhi.color_temperature"
    ]  # fmt: skip
    assert by_name["Garden"]["components"]["button_2"] == ["dhi.button"]
    assert by_name["Office blinds"]["components"]["shutter_1"] == ["dhi.window_covering"]
    node = by_name["Bedroom climate"]
    assert node["unmapped"] == []
    assert node["components"]["analog_0"] == ["x.tasmota.analog"]  # pin A0's raw reading
    assert "x.tasmota.distance" in node["components"]["sr04"]
    assert report["summary"]["devices"] == len(NAMES) and report["summary"]["fully_mapped"] == len(NAMES)
    bad = TasmotaAdapter.map_offline({"mac": "XYZ", "t": "a"})
    assert bad[0].unmapped[0].reason.startswith("discovery config: mac: String should match pattern")


def test_state_values() -> None:
    bulb = device("rgbcw_bulb")
    d = decode_state(bulb, fixture("rgbcw_bulb.tele_state.json"))
    assert d.errors == []
    assert d.reports[("light", "dhi.on_off")] == {"on": True}
    assert d.reports[("light", "dhi.level")] == {"level": 75}
    assert d.reports[("light", "dhi.color_temperature")] == {"color_temperature": 4000}  # 250 mireds
    assert d.reports[("light", "dhi.color")] == {"hue": 30, "saturation": 67}
    assert d.reports[("main", "dhi.connectivity")] == {"rssi": -61}
    four = device("sonoff_4ch")
    d4 = decode_state(four, fixture("sonoff_4ch.tele_state.json"))
    assert [d4.reports[(f"relay_{i}", "dhi.on_off")]["on"] for i in range(1, 5)] == [True, False, False, True]
    button = decode_state(four, fixture("sonoff_4ch.stat_result_button.json"))
    assert button.events == [("button_2", "dhi.button", "double_pressed", {})]


def test_sensor_units_are_converted() -> None:
    node = device("sensor_node")
    d = decode_sensor(node, fixture("sensor_node.tele_sensor_fahrenheit.json"))
    assert d.errors == []
    assert d.reports[("bme280", "dhi.temperature")] == {"temperature": 21.39}  # 70.5 °F
    assert d.reports[("bme280", "dhi.pressure")]["pressure"] == pytest.approx(1012.58, abs=0.01)  # 759.5 mmHg
    pow_r2 = device("sonoff_pow_r2")
    e = decode_sensor(pow_r2, fixture("sonoff_pow_r2.tele_sensor.json")).reports
    assert e[("energy", "dhi.energy")] == {"energy": 12.351, "energy_today": 0.417}
    assert e[("energy", "dhi.power")] == {"power": 498, "apparent_power": 512, "reactive_power": 118}
    switch = decode_sensor(node, {"Window": "ON"})  # swn: the SwitchText is the SENSOR key
    assert switch.reports[("switch_1", "dhi.contact")] == {"contact": True}  # swc 1: follow = a contact


def _running(name: str = "sonoff_4ch") -> tuple[TasmotaAdapter, RecordingContext, str]:
    adapter = TasmotaAdapter(TasmotaConfig())
    ctx = RecordingContext(adapter="tasmota")
    adapter.bind(ctx)
    return adapter, ctx, fixture(f"{name}.config.json")["t"]


async def _discover(adapter: TasmotaAdapter, name: str = "sonoff_4ch") -> None:
    mac = fixture(f"{name}.config.json")["mac"]
    for kind in ("config", "sensors"):
        body = json.dumps(fixture(f"{name}.{kind}.json")).encode()
        await adapter.handle_discovery(MqttMessage(f"tasmota/discovery/{mac}/{kind}", body, 1, True))


async def test_discovery_and_device_messages() -> None:
    adapter, ctx, t = _running()
    await _discover(adapter)
    dev = "tasmota:dc4f22aabb04"
    assert dev in ctx.devices
    mac = "DC4F22AABB04"
    adapter.handle_device(mac, MqttMessage(f"stat/{t}/POWER3", b"ON", 1, False))
    adapter.handle_device(mac, MqttMessage(f"tele/{t}/LWT", b"Offline", 1, True))
    assert ctx.state_of(dev, "dhi.on_off", "relay_3") == {"on": True}
    assert ctx.available[dev] is False
    # a cleared retained config removes the device
    await adapter.handle_discovery(MqttMessage(f"tasmota/discovery/{mac}/config", b"", 1, True))
    assert ctx.removed == [dev]
    assert ctx.invalid == [] and ctx.rejected == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/{t}/LWT", b"Sleeping", "LWT must be 'Online' or 'Offline', got 'Sleeping'"),
        ("tele/{t}/STATE", b"[1,2]", "payload must be a JSON object, got list"),
        ("tele/{t}/STATE", b"{oops", "not valid JSON"),
        ("tele/{t}/STATE", b'{"POWER2": "MAYBE"}', "POWER2: unknown value 'MAYBE'"),
        ("stat/{t}/RESULT", b'{"Button1": {"Action": "WIGGLE"}}', "Button1.Action: unknown action 'WIGGLE'"),
        ("tele/{t}/STATE", b'{"Wifi": {"Signal": 99}}', "rssi: 99 is outside -150..30"),
        ("tele/{t}/STATE", b'{"UptimeSec": "long"}', "uptime has the wrong type: got str"),
    ],
)
async def test_invalid_device_messages_are_reported(topic: str, payload: bytes, reason: str) -> None:
    adapter, ctx, t = _running()
    await _discover(adapter)
    adapter.handle_device("DC4F22AABB04", MqttMessage(topic.format(t=t), payload, 1, False))
    assert len(ctx.invalid) == 1, ctx.invalid
    assert reason in ctx.invalid[0].reason
    assert ctx.rejected == []


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("config", b"nope", "not valid JSON"),
        ("config", b'{"mac": "DC4F22AABB09", "t": "x"}', "does not match the topic's 'DC4F22AABB04'"),
        ("config", b'{"mac": "DC4F22AABB04", "t": "a/b"}', "t/tp must be single topic levels"),
        (
            "config",
            b'{"mac": "DC4F22AABB04", "t": "x", "rl": "all"}',
            "discovery config: rl: Input should be a valid list",
        ),
        ("sensors", b'{"sn": 5}', "'sn' must be an object"),
    ],
)
async def test_invalid_discovery_is_reported(kind: str, payload: bytes, reason: str) -> None:
    adapter, ctx, _ = _running()
    await adapter.handle_discovery(MqttMessage(f"tasmota/discovery/DC4F22AABB04/{kind}", payload, 1, True))
    assert len(ctx.invalid) == 1 and reason in ctx.invalid[0].reason, ctx.invalid
    assert ctx.devices == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=15,
)
keys = st.sampled_from(["POWER", "POWER1", "POWER4", "Dimmer", "CT", "HSBColor", "Wifi", "UptimeSec", "Button1",
                        "ENERGY", "BME280", "Switch1", "Shutter1", "TempUnit", "Time", "FanSpeed", "Dimmer1",
                        "Channel3", "BatteryPercentage", "ANALOG", "TX23", "Window"])  # fmt: skip
documents = st.dictionaries(keys, json_values, max_size=5)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=st.sampled_from(
        ["tele/{t}/STATE", "tele/{t}/SENSOR", "stat/{t}/RESULT", "stat/{t}/POWER2", "tele/{t}/LWT"]
    ),
    payload=st.binary(max_size=200) | documents.map(lambda d: json.dumps(d).encode()),
)
async def test_fuzz_device_messages_never_crash(suffix: str, payload: bytes) -> None:
    adapter, ctx, t = _running()
    await _discover(adapter)
    adapter.handle_device("DC4F22AABB04", MqttMessage(suffix.format(t=t), payload, 0, False))
    assert ctx.rejected == []
    assert all(inv.reason for inv in ctx.invalid)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["config", "sensors"]),
    payload=st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(["mac", "t", "ft", "tp", "rl", "lt_st", "swc", "btn", "so", "fn", "sn"]), json_values
    ).map(lambda d: json.dumps({**fixture("sonoff_4ch.config.json"), **d}).encode()),
)
async def test_fuzz_discovery_never_crashes(kind: str, payload: bytes) -> None:
    adapter, ctx, _ = _running()
    await adapter.handle_discovery(MqttMessage(f"tasmota/discovery/DC4F22AABB04/{kind}", payload, 1, True))
    assert ctx.rejected == []
    assert len(ctx.devices) + len(ctx.invalid) <= 1
