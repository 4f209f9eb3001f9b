"""Zigbee2MQTT end to end: a real Mosquitto, the in-process hub, and a simulated Zigbee2MQTT
(a paho client that retains bridge/devices and answers ``/set`` by publishing the new state,
as Zigbee2MQTT does)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk.mqtt import Protocol
from adapters.zigbee2mqtt import Zigbee2MqttAdapter
from adapters.zigbee2mqtt.adapter import Zigbee2MqttConfig
from dhi.models import CommandRequest
from hub.core import Hub
from tests.adapters.mqtt.helpers import broker_config, eventually, invalid_count, running_hub
from tests.adapters.zigbee2mqtt.support import load_devices
from tests.support.mosquitto import Mosquitto, MqttPeer, PeerMessage

pytestmark = pytest.mark.slow

BASE = "zigbee2mqtt"
LIGHT = "zigbee2mqtt:0xa4c138071003495f"  # "Gledopto RGBCTT light I"
CLIMATE = "zigbee2mqtt:0x00158d000945f2b1"  # "Climate sensor"
BUTTON = "zigbee2mqtt:0x00158d0008066798"  # "Scenes button"


class SimulatedZ2M:
    """Retains the bridge topics and answers ``<name>/set`` with the merged state."""

    def __init__(self, peer: MqttPeer) -> None:
        self.peer = peer
        self.states: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def announce(self) -> None:
        self.peer.publish(f"{BASE}/bridge/state", {"state": "online"}, retain=True)
        self.peer.publish(f"{BASE}/bridge/devices", load_devices(), retain=True)
        self.peer.on(f"{BASE}/+/set", self._on_set)

    def _on_set(self, msg: PeerMessage) -> None:
        name = msg.topic[len(BASE) + 1 : -len("/set")]
        request = json.loads(msg.payload)
        with self._lock:
            self.requests.append((name, request))
            state = self.states.setdefault(name, {})
            for key, requested in request.items():
                if key == "transition":
                    continue
                if key == "state" and requested == "TOGGLE":
                    state[key] = "OFF" if state.get("state") == "ON" else "ON"
                else:
                    state[key] = requested
            payload = json.dumps(state)
        # from inside the paho thread: no waiting for our own PUBACK
        self.peer.publish_async(f"{BASE}/{name}", payload)


def value(hub: Hub, device: str, capability: str, prop: str, component: str = "main") -> Any:
    v = hub.state.get(device, component, capability, prop)
    return v.value if v is not None else None


def config(broker: Mosquitto, protocol: str | None = None) -> dict[str, Any]:
    settings = broker_config(broker.url)
    if protocol is not None:
        settings["protocol"] = protocol
    return {"broker": settings, "base_topic": BASE}


def test_mqtt_3_1_1_unless_the_config_says_otherwise() -> None:
    assert Zigbee2MqttConfig().broker.protocol is Protocol.MQTT311
    assert (
        Zigbee2MqttConfig.model_validate({"broker": {"url": "mqtt://h"}}).broker.protocol is Protocol.MQTT311
    )
    chosen = Zigbee2MqttConfig.model_validate({"broker": {"url": "mqtt://h", "protocol": "5"}})
    assert chosen.broker.protocol is Protocol.MQTT5


@pytest.mark.parametrize("protocol", [None, "5"])
async def test_devices_state_and_command_round_trip(
    mosquitto: Mosquitto, tmp_path: Path, protocol: str | None
) -> None:
    with MqttPeer(mosquitto, "zigbee2mqtt-sim") as peer:
        z2m = SimulatedZ2M(peer)
        z2m.announce()
        cfg = config(mosquitto, protocol)
        async with running_hub(tmp_path, "zigbee2mqtt", Zigbee2MqttAdapter, cfg) as hub:
            # devices appear from the retained bridge/devices
            await eventually(lambda: len(hub.registry.of_adapter("zigbee2mqtt")) == 34, what="34 devices")
            light = hub.registry.get(LIGHT)
            assert light is not None and light.description.name == "Gledopto RGBCTT light I"

            # state flows from zigbee2mqtt/<friendly_name>
            peer.publish(f"{BASE}/Climate sensor", {"temperature": 23.4, "humidity": 51, "battery": 88})
            await eventually(
                lambda: value(hub, CLIMATE, "dhi.temperature", "temperature") == 23.4, what="temperature"
            )
            assert value(hub, CLIMATE, "dhi.battery", "percentage") == 88
            peer.publish(f"{BASE}/Climate sensor/availability", {"state": "offline"}, retain=True)
            await eventually(lambda: hub.registry.get(CLIMATE).available is False, what="offline")  # type: ignore[union-attr]
            peer.publish(f"{BASE}/Climate sensor/availability", "online", retain=True)
            await eventually(lambda: hub.registry.get(CLIMATE).available is True, what="online")  # type: ignore[union-attr]

            # a command round-trips through the simulated Zigbee2MQTT
            result = await hub.execute(
                CommandRequest(
                    id="c-1", device=LIGHT, capability="dhi.level", command="set_level", params={"level": 50}
                )
            )
            assert result.status == "ok", result
            # "ok" means the broker acknowledged the publish; the simulated Z2M receives it on its own thread
            await eventually(lambda: bool(z2m.requests), what="the /set request at the simulated Zigbee2MQTT")
            assert z2m.requests[-1] == ("Gledopto RGBCTT light I", {"brightness": 127})
            await eventually(lambda: value(hub, LIGHT, "dhi.level", "level") == 50.0, what="level echo")
            result = await hub.execute(
                CommandRequest(id="c-2", device=LIGHT, capability="dhi.on_off", command="toggle")
            )
            assert result.status == "ok"
            await eventually(lambda: value(hub, LIGHT, "dhi.on_off", "on") is True, what="toggled on")

            # a button press is an event on the hub's bus
            events: list[Any] = []
            hub.bus.tap(lambda m: events.append(m) if str(m.type).endswith("event.occurred") else None)
            peer.publish(f"{BASE}/Scenes button", {"action": "double"})
            await eventually(lambda: events, what="button event")
            assert (events[0].data.device, events[0].data.event) == (BUTTON, "double_pressed")

            # garbage is counted, never fatal
            before = invalid_count(hub, "zigbee2mqtt")
            peer.publish(f"{BASE}/Climate sensor", b"\xff not json")
            await eventually(lambda: invalid_count(hub, "zigbee2mqtt") > before, what="invalid counted")
            peer.publish(f"{BASE}/Climate sensor", {"temperature": 24.0})
            await eventually(
                lambda: value(hub, CLIMATE, "dhi.temperature", "temperature") == 24.0, what="still working"
            )


async def test_rename_keeps_the_device(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "zigbee2mqtt-sim") as peer:
        SimulatedZ2M(peer).announce()
        async with running_hub(tmp_path, "zigbee2mqtt", Zigbee2MqttAdapter, config(mosquitto)) as hub:
            await eventually(lambda: hub.registry.get(CLIMATE), what="device")
            devices = load_devices()
            for d in devices:
                if d.get("ieee_address") == "0x00158d000945f2b1":
                    d["friendly_name"] = "Bedroom/climate"
            peer.publish(f"{BASE}/bridge/devices", devices, retain=True)
            await eventually(
                lambda: hub.registry.get(CLIMATE).description.name == "Bedroom/climate",  # type: ignore[union-attr]
                what="renamed",
            )
            peer.publish(f"{BASE}/Bedroom/climate", {"temperature": 18.25})
            await eventually(
                lambda: value(hub, CLIMATE, "dhi.temperature", "temperature") == 18.25,
                what="state under the new name",
            )
            assert len(hub.registry.of_adapter("zigbee2mqtt")) == 34


async def test_broker_restart_loses_no_retained_state(mosquitto: Mosquitto, tmp_path: Path) -> None:
    peer = MqttPeer(mosquitto, "zigbee2mqtt-sim")
    with peer:
        z2m = SimulatedZ2M(peer)
        z2m.announce()
        peer.publish(f"{BASE}/Climate sensor", {"temperature": 21.5}, retain=True)
        async with running_hub(tmp_path / "a", "zigbee2mqtt", Zigbee2MqttAdapter, config(mosquitto)) as hub:
            await eventually(
                lambda: value(hub, CLIMATE, "dhi.temperature", "temperature") == 21.5,
                what="retained state before the restart",
            )

            mosquitto.restart()
            await peer.wait_connected()
            adapter = hub.supervisor.slots["zigbee2mqtt"].instance
            await eventually(
                lambda: adapter._conn is not None and adapter._conn.connected,
                timeout=20,
                what="adapter reconnected",
            )

            # the adapter is live again: new state and commands flow
            peer.publish(f"{BASE}/Climate sensor", {"temperature": 22.75}, retain=True)
            await eventually(
                lambda: value(hub, CLIMATE, "dhi.temperature", "temperature") == 22.75,
                what="state after the restart",
            )
            result = await hub.execute(
                CommandRequest(id="c-3", device=LIGHT, capability="dhi.on_off", command="on")
            )
            assert result.status == "ok"
            await eventually(
                lambda: value(hub, LIGHT, "dhi.on_off", "on") is True, what="command after restart"
            )

        # a hub started afresh after the restart finds every retained message the broker kept
        async with running_hub(tmp_path / "b", "zigbee2mqtt", Zigbee2MqttAdapter, config(mosquitto)) as fresh:
            await eventually(
                lambda: len(fresh.registry.of_adapter("zigbee2mqtt")) == 34, what="devices again"
            )
            await eventually(
                lambda: value(fresh, CLIMATE, "dhi.temperature", "temperature") == 22.75,
                what="retained state",
            )
