"""Tasmota devices mapped as a Home Assistant user sees them (recordings in tests/fixtures/tasmota,
written from Tasmota's and hatasmota's documented discovery fields and payloads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import build_report, collisions
from adapters.tasmota import TasmotaAdapter
from adapters.tasmota.model import TasmotaDevice, decode_sensor, decode_state, describe, parse_config
from tests.adapters.tasmota.device import fixture
from tests.support.recording import RecordingContext


def device(name: str) -> TasmotaDevice:
    dev = describe(
        parse_config(fixture(f"{name}.config.json")), fixture(f"{name}.sensors.json")["sn"], "tasmota"
    )
    ctx = RecordingContext(adapter="tasmota")
    assert ctx.publish_device(dev.description), ctx.rejected  # the hub accepts the description
    return dev


def published(dev: TasmotaDevice, reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Every decoded report passes the hub's validation against the description."""
    ctx = RecordingContext(adapter="tasmota")
    assert ctx.publish_device(dev.description)
    for (comp, cap), props in reports.items():
        assert ctx.publish_state(dev.description.id, cap, props, component=comp), ctx.rejected


def caps(dev: TasmotaDevice, comp: str) -> list[str]:
    c = dev.description.component(comp)
    assert c is not None, f"no component {comp}: {[x.id for x in dev.description.components]}"
    return [i.id for i in c.capabilities]


def test_ifan_is_a_fan_with_speeds_and_a_plain_light() -> None:
    fan = device("ifan03")
    assert caps(fan, "light") == ["dhi.on_off"]  # HA: a non-dimmable light
    inst = fan.description.component("fan").capability("dhi.fan")  # type: ignore[union-attr]
    assert inst is not None and inst.constraints is not None
    assert inst.constraints["speed_level"].maximum == 3
    d = decode_state(fan, fixture("ifan03.tele_state.json"))
    assert d.errors == []
    assert d.reports[("fan", "dhi.fan")] == {"mode": "medium", "speed_level": 2}
    assert d.reports[("light", "dhi.on_off")] == {"on": True}
    published(fan, d.reports)


def test_battery_from_state() -> None:
    dev = device("esp32_htu21")
    d = decode_state(dev, fixture("esp32_htu21.tele_state.json"))
    assert d.reports[("main", "dhi.battery")] == {"percentage": 87}
    assert ("main", "dhi.battery") not in decode_state(
        dev, {"BatteryPercentage": 101}
    ).reports  # mains powered
    published(dev, d.reports)


def test_inverted_shutter_reports_dhi_position_and_direction() -> None:
    dev = device("inverted_shutter")
    assert dev.parts["shutter_1"].inverted
    d = decode_state(dev, fixture("inverted_shutter.stat_result.json"))
    assert d.reports[("shutter_1", "dhi.window_covering")] == {"position": 46, "moving": "opening"}


def test_reduced_ct_range_is_declared() -> None:
    dev = device("ct_bulb")
    inst = dev.description.component("light").capability("dhi.color_temperature")  # type: ignore[union-attr]
    assert inst is not None and inst.constraints is not None
    ct = inst.constraints["color_temperature"]
    assert (ct.minimum, ct.maximum) == (2632, 5000)  # 380..200 mireds
    d = decode_state(dev, fixture("ct_bulb.tele_state.json"))
    assert d.reports[("light", "dhi.color_temperature")] == {"color_temperature": 2632}
    published(dev, d.reports)
    assert dev.parts["light"].mireds == (200, 380)


def test_tuya_dimmer_is_set_with_dimmer3() -> None:
    part = device("tuya_dimmer").parts["light"]
    assert (part.level_command, part.level_state) == ("Dimmer3", "Dimmer")


def test_setoption13_buttons_only_single_press() -> None:
    dev = device("t1_2ch")
    btn = dev.description.component("button_1").capability("dhi.button")  # type: ignore[union-attr]
    assert btn is not None and btn.events == ["pressed"]
    d = decode_state(dev, {"Button1": {"Action": "SINGLE"}})
    assert d.events == [("button_1", "dhi.button", "pressed", {})]


def test_unlinked_rgbcw_is_an_rgb_light_and_a_ct_light() -> None:
    dev = device("h801_split")
    assert caps(dev, "light") == ["dhi.on_off", "dhi.level", "dhi.color"]
    assert caps(dev, "light_2") == ["dhi.on_off", "dhi.level", "dhi.color_temperature"]
    d = decode_state(dev, fixture("h801_split.tele_state.json"))
    assert d.errors == []
    assert d.reports[("light", "dhi.level")] == {"level": 60}  # Dimmer1
    assert d.reports[("light_2", "dhi.level")] == {"level": 25}  # Dimmer2
    assert d.reports[("light", "dhi.color")] == {"hue": 30, "saturation": 100}
    assert d.reports[("light_2", "dhi.color_temperature")] == {"color_temperature": 3333}
    assert d.reports[("light_2", "dhi.on_off")] == {"on": False}
    published(dev, d.reports)


def test_setoption68_is_one_dimmer_per_channel() -> None:
    dev = device("h801_channels")
    assert [c.id for c in dev.description.components if c.id.startswith("light")] == [
        "light", "light_2", "light_3", "light_4", "light_5"
    ]  # fmt: skip
    assert dev.parts["light_3"].level_command == "Channel3"
    d = decode_state(dev, fixture("h801_channels.tele_state.json"))
    assert [d.reports[(c, "dhi.level")]["level"] for c in ("light", "light_2", "light_3", "light_4", "light_5")] == [
        100, 0, 42, 0, 7
    ]  # fmt: skip
    published(dev, d.reports)
    # the same levels from the state's Channel list
    listed = decode_state(dev, {"Channel": [100, 0, 42, 0, 7]})
    assert listed.reports[("light_3", "dhi.level")] == {"level": 42}


def test_analog_pins_and_nested_ct_energy() -> None:
    dev = device("esp32_analog")
    d = decode_sensor(dev, fixture("esp32_analog.tele_sensor.json"))
    assert d.errors == []
    assert d.reports[("analog_1", "dhi.temperature")] == {"temperature": 55.0}
    assert d.reports[("analog_2", "dhi.temperature")] == {"temperature": 39.1}
    assert d.reports[("analog_3", "dhi.illuminance")] == {"illuminance": 180}
    assert d.reports[("analog_4", "x.tasmota.analog")] == {"value": 1902}
    assert d.reports[("analog_ctenergy1", "dhi.energy")] == {"energy": 0.171}
    assert d.reports[("analog_ctenergy1", "dhi.power")] == {"power": 240}
    assert d.reports[("analog_ctenergy1", "dhi.voltage")] == {"voltage": 231}
    assert d.reports[("analog_ctenergy1", "dhi.current")] == {"current": 1.039}
    published(dev, d.reports)


def test_tx23_speed_and_direction_statistics() -> None:
    dev = device("tx23")
    d = decode_sensor(dev, fixture("tx23.sensors.json")["sn"])
    assert d.errors == []
    assert d.reports[("tx23", "x.tasmota.wind_speed")] == {
        "speed": 14.8,
        "average": 8.5,
        "minimum": 12.2,
        "maximum": 14.8,
    }
    assert d.reports[("tx23", "x.tasmota.wind_direction")] == {
        "cardinal": "WSW", "degrees": 247.5, "average": 266.1, "average_cardinal": "W", "minimum": 247.5,
        "maximum": 247.5, "range": 0,
    }  # fmt: skip
    published(dev, d.reports)


def test_three_phase_meter_every_value_has_its_own_property() -> None:
    dev = device("sdm630")
    report = dev.features.report(dev.description)
    assert report.unmapped == [] and collisions(report.mapping) == []
    d = decode_sensor(dev, fixture("sdm630.tele_sensor.json"))
    assert d.errors == []
    r = d.reports
    assert [r[(f"energy_phase_{n}", "dhi.power")]["power"] for n in (1, 2, 3)] == [1500, 900, 100]
    assert r[("energy_phase_2", "dhi.power")]["apparent_power"] == 930
    assert [r[(f"energy_phase_{n}", "dhi.voltage")]["voltage"] for n in (1, 2, 3)] == [232.0, 230.1, 229.9]
    assert [r[(f"energy_phase_{n}", "dhi.energy")]["energy"] for n in (1, 2, 3)] == [512.4, 498.2, 530.9]
    assert r[("energy_phase_3", "x.tasmota.phase_angle")] == {"angle": 11.3}
    assert r[("energy", "dhi.electricity_meter")] == {"imported_energy": 1541.1, "exported_energy": 312.9}
    assert r[("energy", "x.tasmota.reactive_energy")] == {"imported": 80.2, "exported": 41.7}
    assert r[("energy_tariff_1", "dhi.energy")] == {"energy": 1020.5, "produced_energy": 200.1}
    assert r[("energy_tariff_2", "dhi.energy")] == {"energy": 520.6, "produced_energy": 112.8}
    assert r[("energy", "dhi.energy")] == {"energy_today": 6.4}
    assert r[("energy", "dhi.ac_frequency")] == {"frequency": 50.01}
    published(dev, r)


def test_switch_modes_and_names() -> None:
    dev = device("door_pir")
    assert dev.description.component("switch_1").label == "Front door"  # type: ignore[union-attr]
    d = decode_sensor(dev, fixture("door_pir.tele_sensor.json"))
    assert d.errors == []
    assert d.reports[("switch_1", "dhi.contact")] == {"contact": True}
    assert d.reports[("switch_2", "dhi.motion")] == {"motion": True}
    assert d.reports[("switch_3", "x.tasmota.switch")] == {
        "state": False
    }  # swc 0: a toggle switch stays vendor
    published(dev, d.reports)


@pytest.mark.parametrize(
    "name",
    ["ifan03", "esp32_htu21", "inverted_shutter", "ct_bulb", "tuya_dimmer", "t1_2ch", "h801_split", "h801_channels",
     "esp32_analog", "tx23", "sdm630", "door_pir"],
)  # fmt: skip
def test_check_lists_every_feature_and_maps_all(name: str) -> None:
    items = [{"config": fixture(f"{name}.config.json"), "sensors": fixture(f"{name}.sensors.json")}]
    device_report = build_report("tasmota", TasmotaAdapter.map_offline(items)).model_dump()["devices"][0]
    assert device_report["unmapped"] == []
    assert device_report["mapping"] and all(
        f["component"] and f["capability"] for f in device_report["mapping"]
    )
    assert len(device_report["mapping"]) >= device_report["standard"] + device_report["vendor"]


def test_cli_check_lists_features_and_collisions(tmp_path: Path) -> None:
    """``dhome adapters check --json`` lists each feature's fate; two sensors meaning the same
    quantity are kept apart, with the reason, in both outputs."""
    sensors = {"sn": {"Time": "2024-05-01T10:00:00", "SCD40": {"CarbonDioxide": 612, "eCO2": 640}}}
    recording = tmp_path / "scd40.json"
    recording.write_text(json.dumps([{"config": fixture("sdm630.config.json"), "sensors": sensors}]))
    dhome = Path(sys.executable).with_name("dhome")
    run = subprocess.run(
        [str(dhome), "adapters", "check", "tasmota", str(recording), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    [dev] = json.loads(run.stdout)["devices"]
    fates = {f["feature"]: f for f in dev["mapping"]}
    assert fates["SCD40.CarbonDioxide"] == {
        "feature": "SCD40.CarbonDioxide", "component": "scd40", "capability": "dhi.co2", "property": "co2", "reason": None
    }  # fmt: skip
    moved = fates["SCD40.eCO2"]
    assert (moved["component"], moved["capability"], moved["property"]) == (
        "scd40_eco2",
        "dhi.co2",
        "co2",
    )
    assert (
        moved["reason"]
        == "scd40/dhi.co2.co2 already holds SCD40.CarbonDioxide; kept apart in component scd40_eco2"
    )
    text = subprocess.run(
        [str(dhome), "adapters", "check", "tasmota", str(recording)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert text.returncode == 0, text.stderr
    assert "placed apart" in text.stdout and "already holds SCD40.CarbonDioxide" in text.stdout


def test_more_sensors_home_assistant_shows() -> None:
    """APDS9960 (colour, ambient light, proximity), HX711 (weight) and a neutral current: mapped,
    and ActivePower next to Power is kept apart rather than overwriting it."""
    sn = {
        "APDS9960": {"Red": 10, "Green": 20, "Blue": 30, "Ambient": 120, "CCT": 4000, "Proximity": 3},
        "HX711": {"Weight": 1.25},
        "ENERGY": {"Power": 100, "ActivePower": 101, "CurrentNeutral": 0.2},
    }
    dev = describe(parse_config({"mac": "DC4F22AABB1C", "t": "lab"}), sn, "tasmota")
    assert dev.features.unmapped == []
    r = decode_sensor(dev, sn).reports
    assert r[("apds9960", "x.tasmota.color_sensor")] == {"red": 10, "green": 20, "blue": 30, "cct": 4000}
    assert r[("apds9960", "dhi.illuminance")] == {"illuminance": 120}
    assert r[("energy", "dhi.power")] == {"power": 100}
    assert r[("energy_activepower", "dhi.power")] == {"power": 101}
    published(dev, r)
