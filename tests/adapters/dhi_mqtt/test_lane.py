"""DHI-MQTT's safety lane on a real Mosquitto: a safety device's topics move to the lane's
own connection once its description arrives, and its report published after a burst of
telemetry from other devices is handled while the burst is still waiting (issue 23). The
hub's loop is held by the first reading of the burst until everything is published:
saturation, made deterministic. Nothing of the burst is lost."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.dhi_mqtt import DhiMqttAdapter
from tests.adapters.mqtt.helpers import broker_config, eventually, running_hub
from tests.support.burst import publish_burst
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

BASE = "dhi/v1/home"
THERMOMETERS = 20
ROUNDS = 50  # 1 000 readings, 50 per device: within the binding's burst limit (100)


def description(native: str, capability: str, prop: str) -> dict[str, Any]:
    component = {"id": "main", "capabilities": [{"id": capability, "properties": [prop]}]}
    return {"dhi_version": "1.0", "id": f"dhi:{native}", "name": native, "components": [component]}


def state(capability: str, prop: str, value: Any) -> bytes:
    return json.dumps({"component": "main", "capability": capability, "properties": {prop: value}}).encode()


async def test_a_smoke_report_after_a_burst_takes_the_lane(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with MqttPeer(mosquitto, "devices") as peer:
        peer.publish(f"{BASE}/smoke-1/desc", description("smoke-1", "dhi.smoke_alarm", "smoke"), retain=True)
        for i in range(THERMOMETERS):
            peer.publish(
                f"{BASE}/t-{i}/desc", description(f"t-{i}", "dhi.temperature", "temperature"), retain=True
            )
        # the default persistent session: the main connection acknowledges a skipped copy once
        # the lane's is durable (lanes.py; the crash case: tests/adapters/mqtt/test_lane_sessions.py)
        config = {"broker": broker_config(mosquitto.url)}
        async with running_hub(tmp_path, "dhi_mqtt", DhiMqttAdapter, config) as hub:
            adapter = hub.supervisor.slots["dhi_mqtt"].instance
            smoke_topic = f"{BASE}/smoke-1/state/main/dhi.smoke_alarm"
            await eventually(lambda: len(hub.registry) == THERMOMETERS + 1, 20, "the devices")
            await eventually(lambda: adapter._lane.owns(smoke_topic), 20, "the smoke alarm on the lane")
            assert not adapter._lane.owns(f"{BASE}/t-0/state/main/dhi.temperature")

            published = threading.Event()
            order: list[str] = []

            def watch(msg: Any) -> None:
                if msg.type != "org.dhi.v1.state.changed":
                    return
                if msg.data.capability == "dhi.temperature":
                    if not order:
                        published.wait(60)  # the loop is held: everything piles up at the broker
                    order.append("burst")
                elif msg.data.property == "smoke":
                    order.append("smoke")

            hub.bus.tap(watch, raw=True)
            burst = [
                (
                    f"{BASE}/t-{i}/state/main/dhi.temperature",
                    state("dhi.temperature", "temperature", 10 + r * 0.1),
                )
                for r in range(ROUNDS)
                for i in range(THERMOMETERS)
            ]

            def publish() -> None:
                publish_burst(mosquitto, [*burst, (smoke_topic, state("dhi.smoke_alarm", "smoke", True))])
                published.set()

            publisher = asyncio.create_task(asyncio.to_thread(publish))
            await eventually(lambda: order.count("burst") == len(burst) and "smoke" in order, 60, "all")
            await publisher
            assert order[: order.index("smoke")].count("burst") < len(burst) // 2
            for i in range(THERMOMETERS):  # every device's last reading landed
                value = hub.state.get(f"dhi_mqtt:t-{i}", "main", "dhi.temperature", "temperature")
                assert value is not None and value.value == 10 + (ROUNDS - 1) * 0.1
