"""MQTT uplink against a real Mosquitto: per-home alert topics at QoS 1, consumed with an MQTT 5
shared subscription as a platform serving many homes would, and no alert lost when the broker
restarts in the middle of the uplink."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from hub.bridges.mqtt_uplink import DEFAULT_PREFIX, split_endpoint, topic_for
from hub.bridges.uplink_consent import LATE_ATTEMPTS
from hub.core import DB_NAME
from tests.alerts.support import GAS, SMOKE, SOS, ManualClock, TestHome, running_home
from tests.support.mosquitto import Mosquitto, MqttPeer
from tests.support.net import free_port

pytestmark = pytest.mark.slow


class Consumer:
    """A platform-side MQTT client on its own thread (paho's loop), with a persistent session
    so the broker keeps its QoS 1 messages across a broker restart."""

    def __init__(self, broker: Mosquitto, client_id: str, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        c.reconnect_delay_set(1, 1)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        c.on_connect = lambda cl, ud, flags, rc, pr: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *a: self._subscribed.set()
        c.on_message = self._on_message
        c.connect(broker.host, broker.port, clean_start=False, properties=props)
        c.loop_start()
        self.client = c
        assert self._subscribed.wait(10), "consumer could not subscribe"

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(p) for t, p in self.messages if "/alerts/" in t]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def consumers(mosquitto: Mosquitto) -> Iterator[list[Consumer]]:
    made: list[Consumer] = []
    yield made
    for c in made:
        c.close()


def mqtt_request(home: TestHome, endpoint: str, transport: Transport = Transport.MQTT) -> SubscriptionRequest:
    return SubscriptionRequest(
        receiver=Receiver(name="City safety platform", kind="government"),
        transport=transport,
        endpoint=endpoint,
        alert_kinds=["smoke", "gas_leak", "sos"],
        consent=Consent(granted_by="resident", granted_at=home.clock.now()),
    )


async def until(predicate: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def uplink(mosquitto: Mosquitto) -> dict[str, Any]:
    broker = {
        "url": mosquitto.url,
        "publish_timeout": 2,
        "reconnect_min_delay": 0.1,
        "reconnect_max_delay": 0.5,
    }
    return {
        "uplink": {"broker": broker},
        "outbox": {"base_delay": 0.05, "max_delay": 0.5, "give_up_after": 3600},
    }


async def test_alerts_on_per_home_topics_through_a_shared_subscription(
    tmp_path: Path, mosquitto: Mosquitto, consumers: list[Consumer]
) -> None:
    share = "$share/community/dhi/v1/+/alerts/#"
    consumers += [Consumer(mosquitto, "platform-a", share), Consumer(mosquitto, "platform-b", share)]
    async with running_home(tmp_path, alerts=uplink(mosquitto)) as home:
        await home.consent.create(mqtt_request(home, "dhi/v1"), actor="admin")
        home.add(SMOKE, GAS, SOS)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        home.set(GAS, "dhi.gas_leak", gas=True)
        home.event(SOS, "dhi.sos", "pressed", kind="panic")
        await home.settle()
        await until(lambda: sum(len(c.payloads()) for c in consumers) >= 3)
    topics = sorted(t for c in consumers for t, _ in c.messages)
    assert topics == [f"dhi/v1/flat-12/alerts/{k}" for k in ("gas_leak", "smoke", "sos")]
    ids = [p["id"] for c in consumers for p in c.payloads()]
    assert len(ids) == len(set(ids)) == 3  # each message to one member of the share group


async def test_broker_restart_during_uplink_loses_nothing(
    tmp_path: Path, mosquitto: Mosquitto, consumers: list[Consumer]
) -> None:
    consumers.append(Consumer(mosquitto, "platform-durable", "dhi/v1/+/alerts/#"))
    async with running_home(tmp_path, alerts=uplink(mosquitto)) as home:
        await home.consent.create(mqtt_request(home, f"{mosquitto.url}/dhi/v1"), actor="admin")
        home.add(SMOKE, GAS, SOS)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await until(lambda: len(consumers[0].payloads()) >= 1)
        await asyncio.to_thread(mosquitto.stop)
        # raised while the broker is away: they wait in the outbox
        home.set(GAS, "dhi.gas_leak", gas=True)
        home.event(SOS, "dhi.sos", "pressed", kind="panic")
        await home.settle()
        await asyncio.sleep(0.3)  # let the outbox try (and fail) against the stopped broker
        await asyncio.to_thread(mosquitto.start)
        await until(
            lambda: (
                {p["data"]["alert"]["kind"] for p in consumers[0].payloads()} >= {"smoke", "gas_leak", "sos"}
            )
        )
        await home.settle()
        raised = [
            m
            for (m,) in await home.hub.storage.fetchall(
                "SELECT message_id FROM outbox WHERE state='delivered'"
            )
        ]
    got = {p["id"] for p in consumers[0].payloads()}
    assert set(raised) <= got and len(raised) == 3  # at least once; duplicates share the id


async def test_cap_on_the_uplink(tmp_path: Path, mosquitto: Mosquitto, consumers: list[Consumer]) -> None:
    consumers.append(Consumer(mosquitto, "emergency", "dhi/v1/+/cap/#"))
    async with running_home(
        tmp_path, alerts=uplink(mosquitto), home={"id": "flat-12", "division_code": "110105"}
    ) as home:
        await home.consent.create(mqtt_request(home, "dhi/v1", Transport.CAP_MQTT), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await until(lambda: len(consumers[0].messages) >= 1)
    topic, body = consumers[0].messages[0]
    assert topic == "dhi/v1/flat-12/cap/smoke"
    root = ET.fromstring(body)
    assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"


async def test_a_drill_on_the_uplink_is_marked(
    tmp_path: Path, mosquitto: Mosquitto, consumers: list[Consumer]
) -> None:
    consumers.append(Consumer(mosquitto, "drill-centre", "dhi/v1/#"))
    async with running_home(tmp_path, alerts=uplink(mosquitto), drill=True) as home:
        await home.consent.create(mqtt_request(home, "dhi/v1"), actor="admin")
        await home.consent.create(mqtt_request(home, "dhi/v1", Transport.CAP_MQTT), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await until(lambda: len(consumers[0].messages) >= 2)
    by_topic = dict(consumers[0].messages)
    cloud_event = json.loads(by_topic["dhi/v1/flat-12/alerts/smoke"])
    assert cloud_event["drill"] is True and cloud_event["data"]["alert"]["drill"] is True
    cap = ET.fromstring(by_topic["dhi/v1/flat-12/cap/smoke"])
    assert cap.findtext("{urn:oasis:names:tc:emergency:cap:1.2}status") == "Exercise"


def notices_told(consumer: Consumer) -> list[tuple[str, Any]]:
    """(topic prefix, consent) of each consent notice the platform got."""
    with consumer._lock:
        got = [(t, json.loads(p)) for t, p in consumer.messages if t.endswith("/events/consent/changed")]
    return [(t.split("/flat-12/")[0], p["data"]["consent"]) for t, p in got]


async def test_an_upgraded_hub_tells_old_withdrawals_once_and_gives_up_on_a_gone_broker(
    tmp_path: Path, mosquitto: Mosquitto, consumers: list[Consumer]
) -> None:
    """The first start of a hub with consent notices (no ``uplink-consent:*`` rows yet): a
    withdrawal made long ago is told once and not again at the next start; one superseded by a
    live subscription on the same uplink is not told (the platform's record is per home and a
    withdrawal there is final); one whose uplink broker is gone is tried a few times, then is a
    dead letter (audited, counted) instead of a task retrying forever."""
    consumers.append(consumer := Consumer(mosquitto, "platform-notices", "+/v1/flat-12/events/#"))
    alerts = uplink(mosquitto)
    alerts["uplink"]["broker"]["connect_timeout"] = 0.5  # the gone broker refuses at once, retried until then
    gone = f"mqtt://127.0.0.1:{free_port()}/dhi/v1"
    clock = ManualClock()
    async with running_home(tmp_path, alerts=alerts, clock=clock) as home:
        ids = {
            name: (await home.consent.create(mqtt_request(home, endpoint), actor="resident")).id
            for name, endpoint in (
                ("gone", gone),
                ("old", "old/v1"),
                ("before", "dhi/v1"),
                ("live", "dhi/v1"),
            )
        }
        for name in ("gone", "old", "before"):
            await home.consent.withdraw(ids[name], actor="resident")
    # as a hub of the version before: nothing told, no trace of notices in the audit log
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("DELETE FROM meta WHERE key LIKE 'uplink-consent%'")
        db.execute("DELETE FROM audit WHERE action LIKE 'share.%'")
    clock.advance(timedelta(days=30))
    # what the first run told may still be on its way to the platform's client: a marker
    # published now reaches it after all of that (one broker, one subscription, QoS 1, in order)
    with MqttPeer(mosquitto, "notices-marker") as peer:
        peer.publish("dhi/v1/flat-12/events/test/marker", b"{}")

    def marker_arrived() -> bool:
        with consumer._lock:
            return any(t.endswith("/events/test/marker") for t, _ in consumer.messages)

    await until(marker_arrived)
    seen = len(notices_told(consumer))

    def count(home: TestHome, outcome: str) -> float:
        value = home.hub.metrics.registry.get_sample_value(
            "dhome_consent_notices_total", {"outcome": outcome}
        )
        return value or 0.0

    async with running_home(tmp_path, alerts=alerts, clock=clock) as home:
        await until(lambda: count(home, "dead_letter") == 1 and count(home, "told") == 2)
        entries = await home.consent.audit()
        assert home.hub.metrics.registry.get_sample_value("dhome_consent_notices_retrying") == 0
        assert count(home, "failed_attempt") == LATE_ATTEMPTS and count(home, "superseded") == 1
    told = notices_told(consumer)[seen:]
    assert sorted(p for p, _ in told) == ["dhi/v1", "old/v1"]
    assert dict(told)["old/v1"] is None and sorted(dict(told)["dhi/v1"]["alert_kinds"]) == [
        "gas_leak",
        "smoke",
        "sos",
    ]
    by_action = {(e["action"], e["subscription"]): e["detail"] for e in entries}
    assert by_action[("share.dead_letter", ids["gone"])]["consent_notice"] == "withdrawn"
    assert by_action[("share.withheld", ids["before"])]["reason"] == "superseded"
    assert by_action[("share.delivered", ids["old"])]["consent_notice"] == "withdrawn"
    # the next start: nothing re-announced, nothing tried against the gone broker
    async with running_home(tmp_path, alerts=alerts, clock=clock) as home:
        await asyncio.sleep(0.5)
        assert count(home, "failed_attempt") == count(home, "told") == 0
    assert notices_told(consumer)[seen:] == told


@given(
    home=st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,20}", fullmatch=True),
    kind=st.sampled_from(["smoke", "fall", "inactivity"]),
    msg_type=st.sampled_from(["org.dhi.v1.state.changed", "org.dhi.v1.device.availability", "org.dhi.v1.x"]),
)
def test_topic_layout(home: str, kind: str, msg_type: str) -> None:
    alert = {"type": "org.dhi.v1.alert.raised", "data": {"alert": {"kind": kind}}}
    assert topic_for("dhi/v1", home, alert) == f"dhi/v1/{home}/alerts/{kind}"
    topic = topic_for("p", home, {"type": msg_type, "data": {}})
    group, _, action = msg_type.removeprefix("org.dhi.v1.").partition(".")
    assert topic == f"p/{home}/events/{group}/{action or 'message'}"
    assert "+" not in topic and "#" not in topic


def test_endpoint_forms() -> None:
    settings, prefix = split_endpoint("mqtt://broker.example:1884/city/dhi", None)
    assert (settings.host, settings.port, prefix) == ("broker.example", 1884, "city/dhi")
    settings, prefix = split_endpoint("mqtts://broker.example", None)
    assert (settings.port, prefix) == (8883, DEFAULT_PREFIX)
