"""The MQTT uplink subscriber: alerts of hubs that deliver over MQTT (``transport: mqtt``), and
their consent notices (``<prefix>/<home>/events/consent/changed``: the resident changed or
withdrew the subscription; the household record follows it through ``Store.follow_consent``,
exactly as it follows the webhook homes' acknowledgement poll).

A hub publishes each alert as CloudEvent JSON, QoS 1, on ``<prefix>/<home>/alerts/<kind>``
(hub/bridges/mqtt_uplink.py). The platform subscribes to ``<prefix>/+/alerts/#`` with a
persistent session (clean session off, a fixed client id, QoS 1): while the platform is down
the broker queues the alerts and hands them over when it is back. A message is stored through
the same idempotent path as the webhook intake (``Store.receive``, unique by CloudEvent id) and
only then acknowledged (manual PUBACK), so a crash
before the store means a redelivery, and a redelivery is a no-op: nothing lost, nothing twice.

There is no signature on this path: the broker's authentication (one account per hub, an ACL
that lets it publish only under its own home) is what makes the topic's home believable. The
platform stores messages only for enrolled homes whose topic and CloudEvent ``source`` agree.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from community.config import MqttSettings
from community.consent import NOTICE_TOPIC, NOTICE_TYPE, parse_notice
from community.metrics import Metrics
from community.store import Store, home_of

log = logging.getLogger("community.uplink")
#: at most one warning per reason in this many seconds (a misbehaving hub must not flood the log)
LOG_EVERY = 60.0


class Throttle:
    def __init__(self, every: float = LOG_EVERY) -> None:
        self.every = every
        self.last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def warn(self, reason: str, message: str, **extra: Any) -> None:
        now = time.monotonic()
        if now - self.last.get(reason, -self.every) < self.every:
            self.suppressed[reason] = self.suppressed.get(reason, 0) + 1
            return
        self.last[reason] = now
        skipped = self.suppressed.pop(reason, 0)
        log.warning(message, extra={**extra, "reason": reason, "suppressed": skipped})


#: outcome label of a consent notice -> ``community_consent_changes_total``'s change (None: the
#: record already said so)
CONSENT_OUTCOMES: dict[str, str | None] = {
    "consent_changed": "changed",
    "consent_withdrawn": "withdrawn",
    "consent_same": None,
}


def home_in(topic: str, prefix: str) -> str:
    return topic.removeprefix(prefix + "/").split("/", 1)[0]


def parse(topic: str, payload: bytes, prefix: str) -> tuple[str, dict[str, Any]]:
    """(home, CloudEvent) of an uplink alert message or consent notice, or ValueError naming
    what is wrong."""
    parts = topic.removeprefix(prefix + "/").split("/")
    notice = "/".join(parts[1:]) == NOTICE_TOPIC
    if len(parts) < 3 or not (parts[1] == "alerts" or notice) or not parts[0]:
        raise ValueError(
            f"topic {topic!r}: expected {prefix}/<home>/alerts/<kind> or {prefix}/<home>/{NOTICE_TOPIC}"
        )
    home = parts[0]
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"payload: expected CloudEvent JSON ({exc})") from None
    if not isinstance(event, dict):
        raise ValueError("payload: expected a CloudEvent JSON object")
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise ValueError("id: expected the CloudEvent id (a non-empty string)")
    if home_of(event.get("source", "")) != home:
        raise ValueError(f"source: {event.get('source')!r} is not home {home!r} of the topic")
    if notice:
        parse_notice(event)
    elif event.get("type") == NOTICE_TYPE:
        raise ValueError(f"type: a consent notice belongs on {prefix}/<home>/{NOTICE_TOPIC}")
    return home, event


def count(
    metrics: Metrics,
    prefix: str,
    batch: list[tuple[str, bytes]],
    outcomes: list[str],
    on_household: Callable[[str], None] | None = None,
) -> None:
    """Count a handled batch; a household whose consent changed is logged and announced."""
    for (topic, _), outcome in zip(batch, outcomes, strict=True):
        metrics.uplink.labels(outcome).inc()
        change = CONSENT_OUTCOMES.get(outcome)
        if change is None:
            continue
        metrics.consent_changes.labels(change).inc()
        home = home_in(topic, prefix)
        log.info("household consent changed", extra={"home": home, "withdrawn": change == "withdrawn"})
        if on_household is not None:
            on_household(home)


class UplinkSubscriber:
    """One persistent MQTT session; paho's network thread calls the (synchronous) store."""

    def __init__(
        self,
        settings: MqttSettings,
        store: Store,
        metrics: Metrics,
        on_alert: Callable[[dict[str, Any]], None] | None = None,
        on_household: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.on_alert = on_alert
        self.on_household = on_household
        self.throttle = Throttle()
        self.connected = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        url = urlsplit(settings.url)
        self._host, self._port = url.hostname or "", url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,  # acknowledged once stored (or refused as bad input), never before
        )
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password)
        if url.scheme == "mqtts":
            self.client.tls_set(ca_certs=settings.ca_file)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    @property
    def topics(self) -> list[tuple[str, int]]:
        prefix = self.settings.topic_prefix
        return [(f"{prefix}/+/alerts/#", 1), (f"{prefix}/+/{NOTICE_TOPIC}", 1)]

    async def start(self) -> None:
        """Connect (retrying in the background if the broker is away) and subscribe."""
        self._loop = asyncio.get_running_loop()
        self.client.connect_async(self._host, self._port, keepalive=30)
        self.client.loop_start()

    async def stop(self) -> None:
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)

    # ---------------------------------------------------------------- paho thread
    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            self.throttle.warn("connect", "uplink broker refused the connection", code=str(reason))
            return
        client.subscribe(self.topics)
        log.info("uplink subscribed", extra={"topics": [t for t, _ in self.topics], "broker": self._host})
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.clear)
        if reason.is_failure:
            self.throttle.warn("disconnect", "uplink broker connection lost; reconnecting", code=str(reason))

    def _on_message(self, client: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            outcome = self.handle(message.topic, bytes(message.payload))
        except Exception as exc:  # the database is away: no PUBACK, the broker redelivers on reconnect
            self.metrics.uplink.labels("error").inc()
            self.throttle.warn("error", "uplink alert not stored; left unacknowledged", error=repr(exc))
            return
        count(self.metrics, self.settings.topic_prefix, [(message.topic, b"")], [outcome], self._household)
        client.ack(message.mid, message.qos)

    def _household(self, home: str) -> None:
        if self.on_household is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self.on_household, home)

    def handle(self, topic: str, payload: bytes) -> str:
        """Store one message; the outcome label. Bad input is refused (and acknowledged: a
        redelivery would not make it better); a store error propagates (no acknowledgement)."""
        outcome, alerts = take_batch(
            self.store, self.throttle, self.settings.topic_prefix, [(topic, payload)]
        )
        if self.on_alert is not None and self._loop is not None:
            for alert in alerts:
                self._loop.call_soon_threadsafe(self.on_alert, alert)
        return outcome[0]


def take_batch(
    store: Store, throttle: Throttle, prefix: str, batch: list[tuple[str, bytes]], *, views: bool = True
) -> tuple[list[str], list[dict[str, Any]]]:
    """Store uplink messages (topic, payload) in one transaction: the outcome label of each, in
    order, and the alerts that changed. Bad input is refused (``rejected``, ``unknown_home``:
    to be acknowledged, a redelivery would not make it better); a store error propagates (no
    acknowledgement: the broker redelivers)."""
    outcomes: list[str] = ["rejected"] * len(batch)
    parsed: dict[int, tuple[str, dict[str, Any]]] = {}
    notices: list[int] = []
    for i, (topic, payload) in enumerate(batch):
        try:
            found = parse(topic, payload, prefix)
        except ValueError as exc:
            throttle.warn("rejected", "uplink message rejected", topic=topic, error=str(exc))
            continue
        if found[1].get("type") == NOTICE_TYPE:
            notices.append(i)
        else:
            parsed[i] = found
    known = store.enrolled({home for home, _ in parsed.values()})
    # one lock order for every worker (homes' rows, then messages'): two transactions never wait
    # on each other in a circle
    order = sorted(
        (i for i in parsed if parsed[i][0] in known), key=lambda i: (parsed[i][0], parsed[i][1]["id"])
    )
    for i in parsed.keys() - set(order):
        outcomes[i] = "unknown_home"
        throttle.warn(
            "unknown_home", "uplink alert of a home not enrolled here or no longer sharing", home=parsed[i][0]
        )
    results = (
        store.receive_batch([(parsed[i][1]["id"], *parsed[i]) for i in order], views=views) if order else []
    )
    alerts = []
    for i, result in zip(order, results, strict=True):
        outcomes[i] = "duplicate" if result.duplicate else "stored"
        if result.alert is not None:
            alerts.append(result.alert)
    # after the batch's alerts: what the home shared before it withdrew is kept, as on the poll path
    for i in notices:
        outcomes[i] = follow_notice(store, throttle, *parse(batch[i][0], batch[i][1], prefix))
    return outcomes, alerts


def follow_notice(store: Store, throttle: Throttle, home: str, event: dict[str, Any]) -> str:
    """The household record follows an uplink consent notice (the poll path's store function)."""
    consent = parse_notice(event)
    if store.follow_consent(home, consent):
        return "consent_changed" if consent is not None else "consent_withdrawn"
    if store.credentials(home) is None:
        throttle.warn("unknown_home", "uplink consent notice of a home not enrolled here", home=home)
        return "unknown_home"
    return "consent_same"
