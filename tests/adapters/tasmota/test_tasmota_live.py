"""Tasmota end to end: real Mosquitto, the in-process hub, a simulated device answering on stat/."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from adapters.tasmota import TasmotaAdapter
from dhi.models import CommandRequest
from tests.adapters.mqtt.helpers import (
    availability_log,
    broker_config,
    eventually,
    invalid_count,
    running_hub,
    state_value,
)
from tests.adapters.tasmota.device import SimulatedTasmota, fixture
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

DEV = "tasmota:dc4f22aabb04"


def config(broker: Mosquitto) -> dict[str, object]:
    return {"broker": broker_config(broker.url), "command_timeout": 5}


async def test_discovery_state_and_commands(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "garden", will=SimulatedTasmota.will("sonoff_4ch")) as peer:
        device = SimulatedTasmota(peer, "sonoff_4ch")
        device.start()
        async with running_hub(tmp_path, "tasmota", TasmotaAdapter, config(mosquitto)) as hub:
            rec = await eventually(lambda: hub.registry.get(DEV), what="device discovered")
            assert rec.description.model == "Sonoff 4CH" and rec.available
            assert rec.description.component("relay_1").label == "Pump"

            result = await hub.execute(
                CommandRequest(
                    id="c1", device=DEV, component="relay_2", capability="dhi.on_off", command="on"
                )
            )
            assert result.status == "ok" and result.result == {"POWER2": "ON"}, result
            assert device.commands[-1] == ("POWER2", "ON")
            await eventually(
                lambda: state_value(hub, DEV, "relay_2", "dhi.on_off", "on") is True, what="relay 2 on"
            )

            result = await hub.execute(
                CommandRequest(
                    id="c2",
                    device=DEV,
                    component="relay_2",
                    capability="dhi.on_off",
                    command="set",
                    params={"on": False},
                )
            )
            assert result.status == "ok"
            await eventually(
                lambda: state_value(hub, DEV, "relay_2", "dhi.on_off", "on") is False, what="relay 2 off"
            )

            # the device does not know the command: Tasmota's {"Command":"Unknown"} becomes 'unsupported'
            device.power.pop(4)
            failed = await hub.execute(
                CommandRequest(
                    id="c3", device=DEV, component="relay_4", capability="dhi.on_off", command="toggle"
                )
            )
            assert failed.error is not None and failed.error.code == "unsupported"

            device.publish("tele/STATE", fixture("sonoff_4ch.tele_state.json"))
            await eventually(
                lambda: state_value(hub, DEV, "main", "dhi.connectivity", "rssi") == -55, what="STATE"
            )
            device.publish("stat/RESULT", {"Button3": {"Action": "HOLD"}})
            device.publish("tele/STATE", {"POWER1": "SOMETIMES"})
            await eventually(lambda: invalid_count(hub, "tasmota") == 1, what="invalid counted")

            peer.kill()
            await eventually(lambda: not hub.registry.get(DEV).available, what="LWT Offline")  # type: ignore[union-attr]


async def test_broker_restart_is_survived(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "pow") as peer:
        device = SimulatedTasmota(peer, "sonoff_pow_r2")
        device.start()
        dev = "tasmota:dc4f22aabb02"
        async with running_hub(tmp_path, "tasmota", TasmotaAdapter, config(mosquitto)) as hub:
            await eventually(
                lambda: state_value(hub, dev, "energy", "dhi.power", "power") == 515,
                what="sensors from discovery",
            )
            changes = availability_log(hub, dev)
            mosquitto.restart()
            # unavailable while the broker is down, available again once the retained
            # availability is replayed to the re-subscribed adapter
            await eventually(lambda: changes[-2:] == [False, True], what="down, then up again")
            await peer.wait_connected()
            # telemetry is QoS 0: one published while the adapter's re-subscription is still on
            # its way is lost, so the device repeats it as Tasmota does every TelePeriod
            for _ in range(40):
                device.publish("tele/SENSOR", fixture("sonoff_pow_r2.tele_sensor.json"))
                with contextlib.suppress(AssertionError):
                    await eventually(
                        lambda: state_value(hub, dev, "energy", "dhi.power", "power") == 498,
                        timeout=0.5,
                        what="new SENSOR",
                    )
                    break
            assert state_value(hub, dev, "energy", "dhi.power", "power") == 498, "no SENSOR after the restart"
            result = await hub.execute(
                CommandRequest(id="p", device=dev, component="relay_1", capability="dhi.on_off", command="on")
            )
            assert result.status == "ok"
    with MqttPeer(mosquitto, "observer") as observer:
        observer.subscribe("tasmota/discovery/DC4F22AABB02/#")
        await observer.wait_for("tasmota/discovery/DC4F22AABB02/config", lambda m: m.retain)
        await observer.wait_for("tasmota/discovery/DC4F22AABB02/sensors", lambda m: m.retain)
