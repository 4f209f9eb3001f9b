"""The Home Assistant-fidelity recordings end to end: real Mosquitto, the in-process hub, simulated
devices publishing the recorded discovery and telemetry and answering commands on stat/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.tasmota import TasmotaAdapter
from dhi.models import CommandRequest
from tests.adapters.mqtt.helpers import broker_config, eventually, invalid_count, running_hub, state_value
from tests.adapters.tasmota.device import SimulatedTasmota, fixture
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

NAMES = ("ifan03", "esp32_htu21", "inverted_shutter", "ct_bulb", "tuya_dimmer", "t1_2ch", "h801_split",
         "h801_channels", "esp32_analog", "tx23", "sdm630", "door_pir")  # fmt: skip


def dev_id(name: str) -> str:
    return f"tasmota:{fixture(f'{name}.config.json')['mac'].lower()}"


async def test_recorded_devices_live(mosquitto: Mosquitto, tmp_path: Path) -> None:
    config = {"broker": broker_config(mosquitto.url), "command_timeout": 5}
    with MqttPeer(mosquitto, "fleet") as peer:
        devices = {name: SimulatedTasmota(peer, name) for name in NAMES}
        for d in devices.values():
            d.start()
        async with running_hub(tmp_path, "tasmota", TasmotaAdapter, config) as hub:

            def value(name: str, comp: str, cap: str, prop: str) -> Any:
                return state_value(hub, dev_id(name), comp, cap, prop)

            async def until(name: str, comp: str, cap: str, prop: str, expected: Any) -> None:
                await eventually(
                    lambda: value(name, comp, cap, prop) == expected, what=f"{name} {comp} {prop}"
                )

            async def command(name: str, comp: str, cap: str, cmd: str, **params: Any) -> tuple[str, str]:
                request = CommandRequest(
                    id=f"{name}-{cmd}",
                    device=dev_id(name),
                    component=comp,
                    capability=cap,
                    command=cmd,
                    params=params,
                )
                result = await hub.execute(request)
                assert result.status == "ok", result
                return devices[name].commands[-1]

            for name in NAMES:
                await eventually(lambda n=name: hub.registry.get(dev_id(n)), what=f"{name} discovered")  # type: ignore[misc]
                # the device's topics are subscribed once a STATE gets through (telemetry is not retained)
                for probe in range(1, 50):
                    devices[name].publish("tele/STATE", {"UptimeSec": probe})
                    try:
                        await eventually(
                            lambda n=name, p=probe: value(n, "main", "dhi.diagnostics", "uptime") == p,  # type: ignore[misc]
                            timeout=0.5,
                        )
                        break
                    except AssertionError:
                        continue

            # telemetry: the recordings, published as the devices would
            for name, suffix in (("ifan03", "tele/STATE"), ("esp32_htu21", "tele/STATE"), ("ct_bulb", "tele/STATE"),
                                 ("h801_split", "tele/STATE"), ("h801_channels", "tele/STATE"),
                                 ("esp32_analog", "tele/SENSOR"), ("sdm630", "tele/SENSOR"),
                                 ("door_pir", "tele/SENSOR")):  # fmt: skip
                devices[name].publish(suffix, fixture(f"{name}.{suffix.replace('/', '_').lower()}.json"))
            devices["inverted_shutter"].publish("stat/RESULT", fixture("inverted_shutter.stat_result.json"))
            devices["tx23"].publish("tele/SENSOR", fixture("tx23.sensors.json")["sn"])

            await until("ifan03", "fan", "dhi.fan", "mode", "medium")
            await until("esp32_htu21", "main", "dhi.battery", "percentage", 87)
            # the retained discovery already says position 46 (stopped): wait for the RESULT's "opening"
            await until("inverted_shutter", "shutter_1", "dhi.window_covering", "moving", "opening")
            assert value("inverted_shutter", "shutter_1", "dhi.window_covering", "position") == 46
            await until("ct_bulb", "light", "dhi.color_temperature", "color_temperature", 2632)
            await until("h801_split", "light_2", "dhi.level", "level", 25)
            await until("h801_channels", "light_3", "dhi.level", "level", 42)
            await until("esp32_analog", "analog_ctenergy1", "dhi.power", "power", 240)
            await until("esp32_analog", "analog_2", "dhi.temperature", "temperature", 39.1)
            await until("tx23", "tx23", "x.tasmota.wind_direction", "cardinal", "WSW")
            # per-phase lists and objects, live (each phase its own component)
            await until("sdm630", "energy_phase_1", "dhi.power", "power", 1500)
            await until("sdm630", "energy_phase_3", "dhi.energy", "energy", 530.9)
            await until("sdm630", "energy", "dhi.electricity_meter", "exported_energy", 312.9)
            await until("sdm630", "energy_tariff_2", "dhi.energy", "produced_energy", 112.8)
            await until("door_pir", "switch_1", "dhi.contact", "contact", True)
            await until("door_pir", "switch_2", "dhi.motion", "motion", True)

            # commands, spelled per part as Home Assistant sends them
            assert await command("tuya_dimmer", "light", "dhi.level", "set_level", level=40) == (
                "Dimmer3",
                "40",
            )
            assert await command("h801_channels", "light_3", "dhi.level", "set_level", level=30) == (
                "Channel3",
                "30",
            )
            assert await command("h801_split", "light_2", "dhi.level", "set_level", level=20) == (
                "Dimmer2",
                "20",
            )
            # the reduced CT range: 7000 K would be 143 mireds, clamped to SetOption82's 200
            assert await command(
                "ct_bulb", "light", "dhi.color_temperature", "set_color_temperature", color_temperature=6500
            ) == ("CT", "200")
            assert await command("ifan03", "fan", "dhi.fan", "set", mode="high") == ("FanSpeed", "3")
            # DHI 30 % open on an inverted shutter is Tasmota's 70
            assert await command(
                "inverted_shutter", "shutter_1", "dhi.window_covering", "set_position", position=30
            ) == ("ShutterPosition1", "70")
            await until("inverted_shutter", "shutter_1", "dhi.window_covering", "position", 30)
            assert invalid_count(hub, "tasmota") == 0
