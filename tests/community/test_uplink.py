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
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from tests.alerts.support import running_home
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


NOTICE = b'{"id": "m", "source": "dhome://flat-1", "type": "org.dhi.v1.consent.changed", "data": %s}'


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [
        ("dhi/v1/flat-1/events/state/changed", b"{}", "topic"),
        ("dhi/v1/flat-1/alerts/smoke", b"not json", "payload"),
        ("dhi/v1/flat-1/alerts/smoke", b"[]", "payload"),
        ("dhi/v1/flat-1/alerts/smoke", b'{"source": "dhome://flat-1"}', "id"),
        ("dhi/v1/flat-1/alerts/smoke", b'{"id": "m", "source": "dhome://flat-2"}', "source"),
        ("dhi/v1/flat-1/events/consent/changed", b'{"id": "m", "source": "dhome://flat-1"}', "type"),
        ("dhi/v1/flat-1/events/consent/changed", NOTICE % b'{"consent": 3}', "data.consent"),
        (
            "dhi/v1/flat-1/events/consent/changed",
            NOTICE % b'{"consent": {"alert_kinds": "smoke"}}',
            "data.consent",
        ),
        ("dhi/v1/flat-1/alerts/smoke", NOTICE % b'{"consent": null}', "type"),
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


@pytest.mark.slow
async def test_an_uplink_homes_consent_reaches_the_household_record_even_across_a_hub_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A home on the MQTT uplink only: its subscription's consent reaches the platform's record
    as a consent notice (the same store function as the webhook homes' poll); a withdrawal made
    while the broker is away, with the hub stopped before it came back, is told after the hub's
    restart — and then the home's alerts are no longer taken."""
    engine = make_engine(f"sqlite:///{tmp_path / 'community.db'}")
    migrate(engine)
    store = Store(engine)
    enrol(store, "flat-12")
    metrics, homes = Metrics(), []
    sub = UplinkSubscriber(
        MqttSettings(url=mosquitto.url, client_id="community-consent"),
        store,
        metrics,
        on_household=homes.append,
    )
    alerts = {
        "uplink": {"broker": {"url": mosquitto.url, "publish_timeout": 1, "reconnect_min_delay": 0.1,
                              "reconnect_max_delay": 0.3}},
    }  # fmt: skip

    def household() -> dict[str, Any]:
        return next(h for h in store.households() if h["home"] == "flat-12")

    async def until(check: Any) -> None:
        async with asyncio.timeout(30):
            while not check():
                await asyncio.sleep(0.05)

    await sub.start()
    await asyncio.wait_for(sub.connected.wait(), 20)
    async with running_home(tmp_path / "hub", alerts=alerts) as home:
        made = await home.consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="社区安全中心", kind="community"), transport=Transport.MQTT,
                endpoint="dhi/v1", alert_kinds=["smoke", "sos"], fields=["room"],
                consent=Consent(granted_by="resident", granted_at=home.clock.now()),
            ),
            actor="resident",
        )  # fmt: skip
        await until(lambda: household()["consent"]["alert_kinds"] == ["smoke", "sos"])
        assert household()["sharing"] and household()["consent"]["fields"] == ["room"]
        mosquitto.stop()
        await home.consent.withdraw(made.id, actor="resident")
        await asyncio.sleep(0.3)  # the notice is tried and fails: the broker is away
    assert household()["sharing"]
    mosquitto.start()
    await asyncio.wait_for(sub.connected.wait(), 40)
    async with running_home(tmp_path / "hub", alerts=alerts):
        await until(lambda: not household()["sharing"])
    gone = household()
    assert gone["withdrawn_at"] and gone["address"] == "" and gone["contacts"] == []
    await until(lambda: homes == ["flat-12", "flat-12"])  # the consoles heard of both changes
    # from now on the home's alerts are not taken
    publish(mosquitto, alert_event("flat-12", "late", "smoke"))
    await until(lambda: outcomes(metrics).get("unknown_home", 0) >= 1)
    await sub.stop()
    got = outcomes(metrics)  # (a notice the broker took twice would be "consent_same": no change)
    assert (got["consent_changed"], got["consent_withdrawn"], got["unknown_home"]) == (1, 1, 1), got
    assert "rejected" not in got and "error" not in got
    changes = {
        s.labels["change"]: s.value
        for fam in metrics.registry.collect()
        if fam.name == "community_consent_changes"
        for s in fam.samples
        if s.name.endswith("_total")
    }
    assert changes == {"changed": 1, "withdrawn": 1}
    assert store.all_alerts() == []
    engine.dispose()
