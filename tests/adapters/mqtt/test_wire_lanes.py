"""The safety lane on the wire for Tasmota, Shelly and Homie, on a real Mosquitto (issue 23):
their topics name the device before decoding, so a safety or care device's topics (and every
device's availability topic) move to the lane's own connection, and a safety message published
after a large backlog of telemetry on the main connection is handled before that backlog has
drained. Saturation made deterministic: the hub's loop is held by the first reading of the
burst until everything is published (as in tests/adapters/dhi_mqtt/test_lane.py); the order the
hub then handles them in is observed, never timed. Nothing of the burst is lost."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.homie import HomieAdapter
from adapters.shelly import ShellyAdapter
from adapters.tasmota import TasmotaAdapter
from hub.core import Hub
from tests.adapters.homie.device import description as homie_description
from tests.adapters.mqtt.helpers import broker_config, eventually, running_hub
from tests.adapters.shelly.device import SimulatedShelly, load_dump
from tests.adapters.tasmota.device import fixture as tasmota_fixture
from tests.support.burst import publish_burst
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

DEVICES = 10
ROUNDS = 60  # 600 readings behind the safety message: far more than one read slice (256)


def config(broker: Mosquitto) -> dict[str, Any]:
    # the defaults: a persistent session, the lane on (a crash: tests/adapters/mqtt/test_lane_sessions.py)
    return {"broker": broker_config(broker.url)}


async def safety_first(
    hub: Hub,
    burst: list[tuple[str, bytes]],
    safety: tuple[str, bytes],
    is_burst: Callable[[Any], bool],
    is_safety: Callable[[Any], bool],
    broker: Mosquitto,
) -> list[str]:
    """Publish ``burst`` then ``safety`` while the hub's loop is held; the order handled."""
    published = threading.Event()
    order: list[str] = []

    def watch(msg: Any) -> None:
        if is_safety(msg):
            order.append("safety")
        elif is_burst(msg):
            if not order:
                published.wait(60)  # the loop is held: everything piles up at the broker
            order.append("burst")

    hub.bus.tap(watch, raw=True)

    def publish() -> None:
        publish_burst(broker, [*burst, safety])
        published.set()

    publisher = asyncio.create_task(asyncio.to_thread(publish))
    await eventually(lambda: order.count("burst") >= len(burst) and "safety" in order, 60, "all handled")
    await publisher
    return order


def changed(capability: str) -> Callable[[Any], bool]:
    return lambda msg: msg.type == "org.dhi.v1.state.changed" and msg.data.capability == capability


def went_offline(device: str) -> Callable[[Any], bool]:
    return lambda msg: (
        str(msg.type).endswith("device.availability") and msg.subject == device and not msg.data.available
    )


def assert_overtook(order: list[str], burst: int) -> None:
    assert order.count("burst") == burst  # nothing of the burst lost
    assert order[: order.index("safety")].count("burst") < burst // 2


async def test_tasmota_availability_takes_the_lane(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Tasmota maps no safety capability; a device's LWT (availability) is what takes the lane."""
    base = tasmota_fixture("esp32_htu21.config.json")
    sensors = tasmota_fixture("esp32_htu21.sensors.json")
    names = [f"th_{i}" for i in range(DEVICES)]
    with MqttPeer(mosquitto, "tasmota-devices") as peer:
        for i, name in enumerate(names):
            mac = f"DC4F22AA{i:04X}"
            peer.publish(f"tele/{name}/LWT", "Online", retain=True)
            peer.publish(f"tasmota/discovery/{mac}/config", base | {"t": name, "mac": mac}, retain=True)
            peer.publish(f"tasmota/discovery/{mac}/sensors", sensors, retain=True)
        async with running_hub(tmp_path, "tasmota", TasmotaAdapter, config(mosquitto)) as hub:
            adapter = hub.supervisor.slots["tasmota"].instance
            await eventually(lambda: len(hub.registry) == DEVICES, 20, "the devices")
            lwt = f"tele/{names[-1]}/LWT"
            await eventually(lambda: adapter._lane.owns(lwt), 20, "the LWT on the lane")
            assert not adapter._lane.owns(f"tele/{names[0]}/SENSOR")
            burst = [
                (f"tele/{name}/SENSOR", json.dumps({"HTU21": {"Temperature": 10 + r * 0.1}}).encode())
                for r in range(ROUNDS)
                for name in names
            ]
            offline = went_offline(f"tasmota:dc4f22aa{DEVICES - 1:04x}")
            order = await safety_first(
                hub, burst, (lwt, b"Offline"), changed("dhi.temperature"), offline, mosquitto
            )
    assert_overtook(order, len(burst))


def shelly_dump(shared: Path, i: int, *, smoke: bool = False) -> dict[str, Any]:
    dump = copy.deepcopy(load_dump(shared))
    mac = f"AABBCCDD{i:04X}"
    dump["shelly"] = dump["shelly"] | {"id": f"shellyplus1pm-{mac.lower()}", "mac": mac}
    if smoke:
        dump["status"]["smoke:0"] = {"id": 0, "alarm": False, "mute": False}
        dump["config"]["smoke:0"] = {"id": 0, "name": "Hall smoke"}
    return dump


async def test_a_shelly_smoke_alarm_takes_the_lane(
    mosquitto: Mosquitto, tmp_path: Path, shared_fixtures: Path
) -> None:
    with MqttPeer(mosquitto, "shelly-devices") as peer:
        plugs = [SimulatedShelly(peer, f"plug-{i}", shelly_dump(shared_fixtures, i)) for i in range(DEVICES)]
        smoke = SimulatedShelly(peer, "smoke-1", shelly_dump(shared_fixtures, DEVICES, smoke=True))
        for device in (*plugs, smoke):
            device.start()
        async with running_hub(tmp_path, "shelly", ShellyAdapter, config(mosquitto)) as hub:
            adapter = hub.supervisor.slots["shelly"].instance
            await eventually(lambda: len(hub.registry) == DEVICES + 1, 20, "the devices")
            await eventually(
                lambda: adapter._lane.owns("smoke-1/events/rpc"), 20, "the smoke alarm on the lane"
            )
            assert not adapter._lane.owns("plug-0/events/rpc")
            await eventually(lambda: adapter._lane.owns("plug-0/online"), 20, "availability on the lane")
            burst = [
                (f"plug-{i}/events/rpc", note("switch:0", {"id": 0, "apower": 10 + r + i / 100}))
                for r in range(ROUNDS)
                for i in range(DEVICES)
            ]
            alarm = ("smoke-1/events/rpc", note("smoke:0", {"id": 0, "alarm": True}))
            order = await safety_first(
                hub, burst, alarm, changed("dhi.power"), changed("dhi.smoke_alarm"), mosquitto
            )
    assert_overtook(order, len(burst))


def note(component: str, status: dict[str, Any]) -> bytes:
    frame = {
        "src": "x",
        "dst": "x/events",
        "method": "NotifyStatus",
        "params": {"ts": 1.0, component: status},
    }
    return json.dumps(frame).encode()


SMOKE_DETECTOR = {
    "homie": "5.0",
    "version": 1,
    "name": "Hall smoke detector",
    "nodes": {"alarm": {"name": "Alarm", "properties": {"smoke": {"datatype": "boolean"}}}},
}


async def test_a_homie_smoke_alarm_takes_the_lane(mosquitto: Mosquitto, tmp_path: Path) -> None:
    root = "homie/5"
    climate = homie_description("climate-sensor")
    with MqttPeer(mosquitto, "homie-devices") as peer:
        for i in range(DEVICES):
            peer.publish(f"{root}/climate-{i}/$description", climate, retain=True)
            peer.publish(f"{root}/climate-{i}/$state", "ready", retain=True)
        peer.publish(f"{root}/smoke-1/$description", SMOKE_DETECTOR, retain=True)
        peer.publish(f"{root}/smoke-1/$state", "ready", retain=True)
        async with running_hub(tmp_path, "homie", HomieAdapter, config(mosquitto)) as hub:
            adapter = hub.supervisor.slots["homie"].instance
            await eventually(lambda: len(hub.registry) == DEVICES + 1, 20, "the devices")
            smoke_topic = f"{root}/smoke-1/alarm/smoke"
            await eventually(lambda: adapter._lane.owns(smoke_topic), 20, "the smoke alarm on the lane")
            assert not adapter._lane.owns(f"{root}/climate-0/sensor/temperature")
            await eventually(
                lambda: adapter._lane.owns(f"{root}/climate-0/$state"), 20, "availability on the lane"
            )
            burst = [
                (f"{root}/climate-{i}/sensor/temperature", f"{10 + r * 0.1:.1f}".encode())
                for r in range(ROUNDS)
                for i in range(DEVICES)
            ]
            order = await safety_first(
                hub,
                burst,
                (smoke_topic, b"true"),
                changed("dhi.temperature"),
                changed("dhi.smoke_alarm"),
                mosquitto,
            )
    assert_overtook(order, len(burst))
