"""Issue 23 under saturation, end to end on a real Mosquitto: a burst larger than every queue
bound loses no message (QoS 1 from the publisher to the hub), the queues stay within their
bounds (read from ``GET /metrics``), bulk history is coalesced (counted) with the final
value stored, and safety readings are never coalesced. No time is asserted."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.devices import BASE_TOPIC, bridge_devices, climate_name, device_id, smoke_detector, smoke_name
from hub.alerts.engine import AlertEngine
from hub.api.models import Scope
from hub.config import HubConfig
from hub.core import Hub
from tests.adapters.mqtt.helpers import broker_config, eventually
from tests.api.support import Harness, running_hub
from tests.support.burst import publish_burst
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

CLIMATE = 20
SMOKE = 2
ROUNDS = 300  # 6 000 climate messages: 12 000 history rows against a bound of 100
ROWS_BOUND = 100
ROWS_ROOM = ROWS_BOUND // 10  # the unkeyed (safety) rows' room above it (hub/storage.py)
ENGINE_BOUND = 100


def payload(round_no: int) -> bytes:
    """A climate sensor's state; rooms stay below the heat rule's limits (bulk readings)."""
    return orjson.dumps({"battery": 97, "temperature": 15 + round_no * 0.1, "humidity": 30 + round_no * 0.1})


def hub_config(broker: Mosquitto) -> HubConfig:
    cfg = HubConfig.model_validate({
        "home": {"id": "home"},
        "adapters": [{"type": "zigbee2mqtt", "config": {"broker": broker_config(broker.url), "base_topic": BASE_TOPIC}}],
        # commits only every 5 s (or never reaching batch_max): the burst must be held by the bound
        "storage": {"max_queued_rows": ROWS_BOUND, "batch_interval": 5},
        "alerts": {"queue": ENGINE_BOUND},
        "mdns": {"enabled": False},
    })  # fmt: skip
    cfg.api.host = "127.0.0.1"
    cfg.api.port = 0
    return cfg


async def scrape(http: aiohttp.ClientSession, h: Harness) -> dict[str, float]:
    async with http.get(h.url + "/metrics", headers=h.auth(Scope.READ)) as resp:
        assert resp.status == 200
        text = await resp.text()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


def queues(metrics: dict[str, float], what: str) -> dict[str, float]:
    prefix = f"dhome_ingest_queue_{what}{{queue="
    return {k[len(prefix) : -1]: v for k, v in metrics.items() if k.startswith(prefix)}


@pytest.fixture
async def harness(mosquitto: Mosquitto, tmp_path: Path) -> AsyncIterator[Harness]:
    with MqttPeer(mosquitto, "z2m-bridge") as bridge:
        bridge.publish(f"{BASE_TOPIC}/bridge/state", {"state": "online"}, retain=True)
        bridge.publish(f"{BASE_TOPIC}/bridge/devices", bridge_devices(CLIMATE, SMOKE), retain=True)
    async with running_hub(
        tmp_path / "hub", config=hub_config(mosquitto), extra_services=[AlertEngine()]
    ) as h:
        await eventually(lambda: len(h.hub.registry) >= CLIMATE + SMOKE, 20, "the devices")
        yield h


def state_reports(hub: Hub) -> int:
    return hub.metrics.messages_in.labels("zigbee2mqtt", "state").value


async def test_a_burst_beyond_every_bound_loses_nothing_and_stays_within_the_bounds(
    harness: Harness, mosquitto: Mosquitto
) -> None:
    hub = harness.hub
    changes = {"bulk": 0, "safety": 0}

    def count(msg: Any) -> None:
        if msg.type == "org.dhi.v1.state.changed":
            changes["safety" if msg.priority else "bulk"] += 1

    hub.bus.tap(count, raw=True)
    burst = [(f"{BASE_TOPIC}/{climate_name(i)}", payload(r)) for r in range(ROUNDS) for i in range(CLIMATE)]
    # the smoke detectors toggle through the burst: safety readings, never to be coalesced
    smoke = [
        (f"{BASE_TOPIC}/{smoke_name(i)}", orjson.dumps({"smoke": r % 2 == 1, "battery": 90}))
        for r in range(ROUNDS // 10)
        for i in range(SMOKE)
    ]
    messages = list(burst)
    for n, m in enumerate(smoke):  # spread through the burst, in their own order
        messages.insert(n * len(burst) // len(smoke) + n, m)
    assert len(messages) > max(ROWS_BOUND, ENGINE_BOUND, 5000)  # 5000: the activity log's queue
    reports = state_reports(hub)
    sampled: list[dict[str, float]] = []
    publisher = asyncio.create_task(asyncio.to_thread(publish_burst, mosquitto, messages))
    async with aiohttp.ClientSession() as http:
        while not publisher.done():
            sampled.append(await scrape(http, harness))
            await asyncio.sleep(0.05)
        await publisher
        # QoS 1 end to end: every message reached the hub and was accepted (3 reports per
        # climate message, 2 per smoke message)
        want = reports + 3 * len(burst) + 2 * len(smoke)
        await eventually(lambda: state_reports(hub) >= want, 60, "every message")
        await hub.settled()
        final = await scrape(http, harness)
    assert state_reports(hub) == want

    bounds = queues(final, "bound")
    assert bounds["storage.telemetry"] == ROWS_BOUND + ROWS_ROOM
    assert bounds["bus.alert-engine"] == ENGINE_BOUND
    for metrics in [*sampled, final]:
        for queue, depth in queues(metrics, "depth").items():
            assert depth <= bounds[queue], (queue, depth)
    for queue, peak in queues(final, "peak").items():
        assert peak <= bounds[queue], (queue, peak)
    assert queues(final, "peak")["storage.telemetry"] >= ROWS_BOUND  # the burst did fill it

    # bulk history thinned out, counted, never silently: stored + coalesced = every change
    coalesced = final.get("dhome_coalesced_total{table=history}", 0)
    assert coalesced > 0
    db = sqlite3.connect(hub.storage.path)
    try:
        climate_rows = db.execute(
            "SELECT count(*) FROM history WHERE device LIKE 'zigbee2mqtt:0x00b3c710%'"
        ).fetchone()[0]
        smoke_rows = db.execute(
            "SELECT count(*) FROM history WHERE device LIKE 'zigbee2mqtt:0x00b3c750%'"
        ).fetchone()[0]
        assert climate_rows + coalesced == changes["bulk"]
        # safety readings: every change has its own history row
        assert smoke_rows == changes["safety"] > 0
        # the final value of every property landed, in the state table and as history's last row
        last = ROUNDS - 1
        for i in range(CLIMATE):
            dev = device_id({"ieee_address": f"0x00b3c710{i:08x}"})
            stored = db.execute(
                "SELECT value FROM state WHERE device = ? AND capability = 'dhi.temperature'", (dev,)
            ).fetchone()
            newest = db.execute(
                "SELECT value FROM history WHERE device = ? AND capability = 'dhi.temperature' ORDER BY seq DESC LIMIT 1",
                (dev,),
            ).fetchone()
            assert orjson.loads(stored[0]) == orjson.loads(newest[0]) == 15 + last * 0.1
        smoke_id = device_id(smoke_detector(0))
        assert db.execute(
            "SELECT value FROM state WHERE device = ? AND property = 'smoke'", (smoke_id,)
        ).fetchone() == ("true" if (ROUNDS // 10 - 1) % 2 == 1 else "false",)
    finally:
        db.close()


async def test_a_smoke_alarm_after_a_large_burst_is_handled_before_the_burst_has_drained(
    harness: Harness, mosquitto: Mosquitto
) -> None:
    """The hub is kept busy (its loop held by the first reading of the burst) while a burst
    and then a smoke alarm are published: saturation, made deterministic. The smoke alarm
    comes on the safety lane's own connection and is handled — state change and alert —
    while most of the burst is still waiting on the main connection."""
    hub = harness.hub
    adapter = hub.supervisor.slots["zigbee2mqtt"].instance
    smoke_topic = f"{BASE_TOPIC}/{smoke_name(1)}"
    await eventually(
        lambda: adapter._lane.owns(smoke_topic), 20, "the smoke alarm's topic on the safety lane"
    )
    published = threading.Event()
    order: list[str] = []

    def watch(msg: Any) -> None:
        if msg.type == "org.dhi.v1.state.changed" and msg.data.capability == "dhi.temperature":
            if not order:
                published.wait(60)  # the loop is held: everything below piles up at the broker
            order.append("burst")
        elif msg.type == "org.dhi.v1.alert.raised" and msg.data.alert.kind == "smoke":
            order.append("alert")
        elif msg.type == "org.dhi.v1.state.changed" and msg.data.property == "smoke":
            order.append("smoke")

    hub.bus.tap(watch, raw=True)
    rounds = 100  # 2 000 messages behind which the smoke alarm is published
    burst = [(f"{BASE_TOPIC}/{climate_name(i)}", payload(r)) for r in range(rounds) for i in range(CLIMATE)]
    alarm = (smoke_topic, orjson.dumps({"smoke": True, "battery": 90}))

    def publish() -> None:
        publish_burst(mosquitto, [*burst, alarm])
        published.set()

    publisher = asyncio.create_task(asyncio.to_thread(publish))
    await eventually(lambda: order.count("burst") >= len(burst), 60, "the whole burst")
    await publisher
    await eventually(lambda: "alert" in order, 20, "the smoke alert")
    smoke_at, alert_at = order.index("smoke"), order.index("alert")
    # both came while most of the burst had not been handled yet
    assert order[:smoke_at].count("burst") < len(burst) // 2
    assert order[:alert_at].count("burst") < len(burst) // 2
