"""DHI-MQTT end to end: a real Mosquitto, the in-process hub, a simulated vendor device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.dhi_mqtt import DhiMqttAdapter
from dhi.models import CommandRequest
from tests.adapters.dhi_mqtt.device import SimulatedDevice
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

BASE = "dhi/v1/home"
LAMP = "dhi_mqtt:lamp-1"


def config(broker: Mosquitto, **extra: object) -> dict[str, object]:
    return {"broker": broker_config(broker.url), **extra}


async def test_device_state_command_round_trip(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "lamp-1") as peer:
        device = SimulatedDevice(peer, BASE)
        device.announce()
        async with running_hub(tmp_path, "dhi_mqtt", DhiMqttAdapter, config(mosquitto)) as hub:
            rec = await eventually(lambda: hub.registry.get(LAMP), what="device registered")
            assert rec.adapter == "dhi_mqtt" and rec.description.manufacturer == "Acme"
            await eventually(
                lambda: state_value(hub, LAMP, "main", "dhi.on_off", "on") is False, what="initial state"
            )

            result = await hub.execute(
                CommandRequest(id="c-1", device=LAMP, capability="dhi.on_off", command="on")
            )
            assert result.status == "ok" and result.device == LAMP
            assert device.requests[-1] == {
                "id": "c-1",
                "component": "main",
                "capability": "dhi.on_off",
                "command": "on",
                "params": {},
                "timeout": 10.0,
            }
            await eventually(
                lambda: state_value(hub, LAMP, "main", "dhi.on_off", "on") is True, what="state after on"
            )

            # the device refuses a bad value with a DHI error code: carried through unchanged
            # (the hub's dispatcher would catch 120 itself, so the adapter is asked directly)
            adapter = hub.supervisor.slots["dhi_mqtt"].instance
            refused = await adapter.execute(
                CommandRequest(
                    id="c-2", device=LAMP, capability="dhi.level", command="set_level", params={"level": 120}
                )
            )
            assert refused.status == "error" and refused.error is not None
            assert (refused.error.code, refused.error.field) == ("out_of_range", "params.level")

            # an event flows to the hub's bus
            events: list[object] = []
            hub.bus.tap(lambda m: events.append(m) if str(m.type).endswith("event.occurred") else None)
            peer.publish(
                f"{BASE}/lamp-1/event",
                {"component": "button", "capability": "dhi.button", "event": "long_pressed"},
            )
            await eventually(lambda: events, what="event on the bus")
            assert events[0].data.event == "long_pressed"  # type: ignore[attr-defined]


async def test_command_timeout_and_lwt(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "lamp-1", will=(f"{BASE}/lamp-1/avail", "offline")) as peer:
        device = SimulatedDevice(peer, BASE, answer=False)
        async with running_hub(tmp_path, "dhi_mqtt", DhiMqttAdapter, config(mosquitto)) as hub:
            device.announce()
            await eventually(lambda: hub.registry.get(LAMP), what="device registered")
            result = await hub.execute(
                CommandRequest(id="slow", device=LAMP, capability="dhi.on_off", command="off", timeout=0.5)
            )
            assert result.error is not None and result.error.code == "timeout"
            assert device.requests and device.requests[0]["id"] == "slow"
            peer.kill()  # no DISCONNECT: the broker publishes the Last Will
            await eventually(lambda: not hub.registry.get(LAMP).available, what="LWT offline")  # type: ignore[union-attr]


async def test_invalid_payloads_counted_by_hub(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "lamp-1") as peer:
        SimulatedDevice(peer, BASE).announce()
        async with running_hub(tmp_path, "dhi_mqtt", DhiMqttAdapter, config(mosquitto)) as hub:
            await eventually(lambda: hub.registry.get(LAMP), what="device registered")
            peer.publish(f"{BASE}/lamp-1/state/main/dhi.on_off", b"\xff\x00garbage")
            peer.publish(
                f"{BASE}/lamp-1/state/main/dhi.on_off",
                json.dumps({"capability": "dhi.on_off", "properties": {"on": 3}}),
            )
            await eventually(lambda: invalid_count(hub, "dhi_mqtt") >= 2, what="invalid counted")
            # the adapter is still alive and accepts good state
            peer.publish(
                f"{BASE}/lamp-1/state/sensor/dhi.temperature",
                json.dumps(
                    {
                        "component": "sensor",
                        "capability": "dhi.temperature",
                        "properties": {"temperature": 19.5},
                    }
                ),
            )
            await eventually(
                lambda: state_value(hub, LAMP, "sensor", "dhi.temperature", "temperature") == 19.5,
                what="good state",
            )


async def test_broker_restart_is_survived(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "lamp-1") as peer:
        device = SimulatedDevice(peer, BASE)
        device.announce()
        async with running_hub(tmp_path, "dhi_mqtt", DhiMqttAdapter, config(mosquitto)) as hub:
            await eventually(
                lambda: state_value(hub, LAMP, "main", "dhi.on_off", "on") is False, what="initial state"
            )
            changes = availability_log(hub, LAMP)
            mosquitto.restart()
            # unavailable while the broker is down, available again once the retained
            # availability is replayed to the re-subscribed adapter
            await eventually(lambda: changes[-2:] == [False, True], what="down, then up again")
            await peer.wait_connected()
            device.publish_state("sensor", "dhi.temperature", {"temperature": 23.0})
            await eventually(
                lambda: state_value(hub, LAMP, "sensor", "dhi.temperature", "temperature") == 23.0,
                what="new state",
            )
            result = await hub.execute(
                CommandRequest(id="after", device=LAMP, capability="dhi.on_off", command="on")
            )
            assert result.status == "ok"
    # the retained desc and state survived the restart in the broker's persistence
    with MqttPeer(mosquitto, "observer") as observer:
        observer.subscribe(f"{BASE}/lamp-1/#")
        desc = await observer.wait_for(f"{BASE}/lamp-1/desc")
        assert desc.retain and json.loads(desc.payload)["id"] == "dhi:lamp-1"
        on = await observer.wait_for(f"{BASE}/lamp-1/state/main/dhi.on_off")
        assert json.loads(on.payload)["properties"] == {"on": True}
