"""Homie end to end: real Mosquitto, the in-process hub, a simulated Homie 5 device."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.homie import HomieAdapter
from dhi.models import CommandRequest
from tests.adapters.homie.device import SimulatedHomie
from tests.adapters.mqtt.helpers import (
    availability_log,
    broker_config,
    eventually,
    invalid_count,
    running_hub,
    state_value,
)
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

LAMP = "homie:dimmer-light"


def config(broker: Mosquitto) -> dict[str, object]:
    return {"broker": broker_config(broker.url), "command_timeout": 5}


async def test_device_state_and_commands(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "lamp", will=SimulatedHomie.will("dimmer-light")) as peer:
        device = SimulatedHomie(
            peer,
            "dimmer-light",
            {"light/on": "false", "light/brightness": "51", "light/color": "rgb,255,200,100"},
        )
        device.start()
        async with running_hub(tmp_path, "homie", HomieAdapter, config(mosquitto)) as hub:
            rec = await eventually(lambda: hub.registry.get(LAMP), what="device registered")
            assert rec.description.name == "Desk lamp"
            await eventually(
                lambda: state_value(hub, LAMP, "light", "dhi.level", "level") == 20, what="brightness 51/255"
            )
            await eventually(lambda: hub.registry.get(LAMP).available, what="$state ready")  # type: ignore[union-attr]

            result = await hub.execute(
                CommandRequest(
                    id="h1", device=LAMP, component="light", capability="dhi.on_off", command="toggle"
                )
            )
            assert result.status == "ok" and result.result == {"on": True}, result
            assert device.sets[-1] == ("light/on", "true")
            result = await hub.execute(
                CommandRequest(
                    id="h2",
                    device=LAMP,
                    component="light",
                    capability="dhi.level",
                    command="set_level",
                    params={"level": 100},
                )
            )
            assert result.status == "ok" and device.sets[-1] == ("light/brightness", "255")
            await eventually(
                lambda: state_value(hub, LAMP, "light", "dhi.level", "level") == 100, what="level 100"
            )
            # a vendor property, written with the generic 'set'
            result = await hub.execute(
                CommandRequest(
                    id="h3",
                    device=LAMP,
                    component="light",
                    capability="x.homie.light",
                    command="set",
                    params={"color": "hsv,120,100,100"},
                )
            )
            assert result.status == "ok" and device.sets[-1] == ("light/color", "hsv,120,100,100")

            device.report("light/brightness", "lots")
            await eventually(lambda: invalid_count(hub, "homie") == 1, what="invalid counted")
            peer.kill()
            await eventually(lambda: not hub.registry.get(LAMP).available, what="$state lost (LWT)")  # type: ignore[union-attr]


async def test_broker_restart_is_survived(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "plug") as peer:
        device = SimulatedHomie(peer, "smart-plug", {"switch/power": "true", "meter/power": "12.5"})
        device.start()
        dev = "homie:smart-plug"
        async with running_hub(tmp_path, "homie", HomieAdapter, config(mosquitto)) as hub:
            await eventually(
                lambda: state_value(hub, dev, "meter", "dhi.power", "power") == 12.5, what="initial power"
            )
            changes = availability_log(hub, dev)
            mosquitto.restart()
            # unavailable while the broker is down, available again once the retained
            # availability is replayed to the re-subscribed adapter
            await eventually(lambda: changes[-2:] == [False, True], what="down, then up again")
            await peer.wait_connected()
            device.report("meter/power", "40.0")
            await eventually(
                lambda: state_value(hub, dev, "meter", "dhi.power", "power") == 40.0, what="new value"
            )
            result = await hub.execute(
                CommandRequest(id="p", device=dev, component="switch", capability="dhi.on_off", command="off")
            )
            assert result.status == "ok"
    with MqttPeer(mosquitto, "observer") as observer:
        observer.subscribe("homie/5/smart-plug/#")
        await observer.wait_for("homie/5/smart-plug/$description", lambda m: m.retain)
        power = await observer.wait_for("homie/5/smart-plug/switch/power", lambda m: m.retain)
        assert power.payload == b"false"
