"""The MQTT uplink subscriber on a real Mosquitto: exactly the hub uplink's messages
(hub/bridges/mqtt_uplink.py: CloudEvent JSON, QoS 1, ``dhi/v1/<home>/alerts/<kind>``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from community.config import ConfigError, MqttSettings, load
from community.db import make_engine, migrate
from community.metrics import Metrics
from community.store import Store
from community.uplink import UplinkSubscriber, parse
from tests.community.conftest import alert_event, enrol
from tests.support.mosquitto import Mosquitto


def publish(broker: Mosquitto, event: dict[str, Any], home: str | None = None) -> None:
    """What MqttUplinkBridge sends: compact JSON, QoS 1, acknowledged by the broker."""
    home = home or event["source"].removeprefix("dhome://")
    topic = f"dhi/v1/{home}/alerts/{event['data']['alert']['kind']}"
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-{home}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, body, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def outcomes(metrics: Metrics) -> dict[str, float]:
    return {
        s.labels["outcome"]: s.value
        for fam in metrics.registry.collect()
        if fam.name == "community_uplink_messages"
        for s in fam.samples
        if s.name.endswith("_total")
    }


async def until(metrics: Metrics, total: int) -> dict[str, float]:
    for _ in range(400):  # bounded: 20 s
        got = outcomes(metrics)
        if sum(got.values()) >= total:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"uplink handled {outcomes(metrics)}, expected {total} messages")


def test_uplink_stores_each_alert_once_and_only_for_enrolled_homes(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'community.db'}")
    migrate(engine)
    store = Store(engine)
    enrol(store, "flat-1")
    settings = MqttSettings(url=mosquitto.url, client_id="community-test")
    metrics = Metrics()
    pushed: list[dict[str, Any]] = []

    async def scenario() -> None:
        sub = UplinkSubscriber(settings, store, metrics, on_alert=pushed.append)
        await sub.start()
        await asyncio.wait_for(sub.connected.wait(), 20)
        smoke = alert_event("flat-1", "a1", "smoke")
        publish(mosquitto, smoke)
        publish(mosquitto, smoke)  # the outbox's retry after a lost PUBACK: same CloudEvent id
        publish(mosquitto, alert_event("stranger", "x1", "smoke"))  # not enrolled here
        publish(mosquitto, alert_event("flat-1", "a9"), home="flat-2")  # topic and source disagree
        got = await until(metrics, 4)
        assert got == {"stored": 1, "duplicate": 1, "unknown_home": 1, "rejected": 1}
        await sub.stop()
        # persistent session: what the hubs publish while the platform is down waits for it
        publish(mosquitto, alert_event("flat-1", "a2", "fall", severity="Severe"))
        sub = UplinkSubscriber(settings, store, Metrics(), on_alert=pushed.append)
        await sub.start()
        assert (await until(sub.metrics, 1)) == {"stored": 1}
        await sub.stop()

    asyncio.run(scenario())
    assert sorted((a["home"], a["id"], a["kind"]) for a in store.all_alerts()) == [
        ("flat-1", "a1", "smoke"),
        ("flat-1", "a2", "fall"),
    ]
    assert store.counts()["households"] == 1
    assert [a["id"] for a in pushed] == ["a1", "a2"]  # the consoles hear of each new alert once
    engine.dispose()


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [
        ("dhi/v1/flat-1/events/state/changed", b"{}", "topic"),
        ("dhi/v1/flat-1/alerts/smoke", b"not json", "payload"),
        ("dhi/v1/flat-1/alerts/smoke", b"[]", "payload"),
        ("dhi/v1/flat-1/alerts/smoke", b'{"source": "dhome://flat-1"}', "id"),
        ("dhi/v1/flat-1/alerts/smoke", b'{"id": "m", "source": "dhome://flat-2"}', "source"),
    ],
)
def test_bad_uplink_messages_name_what_is_wrong(topic: str, payload: bytes, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}"):
        parse(topic, payload, "dhi/v1")


@pytest.mark.parametrize(
    ("mqtt", "key"),
    [
        ({}, "mqtt.url"),
        ({"url": "http://broker:1883"}, "mqtt.url"),
        ({"url": "mqtt://b", "client_id": "has space"}, "mqtt.client_id"),
        ({"url": "mqtt://b", "topic_prefix": "dhi/+"}, "mqtt.topic_prefix"),
        ({"url": "mqtt://b", "qos": 0}, "mqtt.qos"),
    ],
)
def test_mqtt_settings_errors_name_the_key(tmp_path: Path, mqtt: dict[str, Any], key: str) -> None:
    path = tmp_path / "community.yaml"
    path.write_text(json.dumps({"mqtt": mqtt}), encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path)
