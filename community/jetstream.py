"""City scale: the hubs' alerts from a NATS JetStream cluster, taken by any number of workers.

The hubs publish their uplink (``<prefix>/<home>/alerts/<kind>``, CloudEvent JSON, QoS 1) to the
MQTT listener of a three-server NATS cluster (deploy/nats/README.md). What a PUBACK from NATS
means, read from nats-server's MQTT code (v2.10 to v2.15) and proved by tests/city:

* the server first hands the message to ordinary NATS subscribers of the subject
  (``dhi.v1.<home>.alerts.<kind>``: MQTT ``/`` becomes ``.``) — fire and forget, so a stream of
  our own capturing that subject is *not* covered by the PUBACK;
* then it stores it, synchronously, in its own stream ``$MQTT_msgs`` as
  ``$MQTT.msgs.dhi.v1.<home>.alerts.<kind>`` and waits for JetStream's acknowledgement — for a
  replicated stream, a quorum of the three servers has it — and only then sends the PUBACK.

``$MQTT_msgs`` (R3: ``mqtt.stream_replicas``) has *interest* retention: a message is kept as long
as a consumer whose filter matches has not acknowledged it, and not stored at all when none
does. So the durable path is a durable pull consumer on ``$MQTT_msgs`` filtered to the alert
subjects and the consent notices' (``…<home>.events.consent.changed``, spec §9.4), made before the first hub publishes (``ensure_consumer``: the platform connects to the
MQTT listener once so the cluster creates its streams, then makes the consumer). Every worker
process binds to that one consumer: the cluster spreads the messages over them, a worker can
join or leave at any time, a message is acknowledged only after the PostgreSQL commit, and one
not acknowledged within ``ack_wait`` (its worker died) goes to another. A redelivery is stored
once (``Store.receive_batch``: unique by CloudEvent id) — nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import nats
import paho.mqtt.client as paho
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from paho.mqtt.enums import CallbackAPIVersion

from community.config import NatsSettings
from community.consent import NOTICE_TOPIC
from community.metrics import Metrics
from community.store import Store
from community.uplink import Throttle, count, take_batch

log = logging.getLogger("community.jetstream")

#: nats-server's stream of MQTT QoS 1/2 messages, and the prefix of its subjects
STREAM = "$MQTT_msgs"
SUBJECT_PREFIX = "$MQTT.msgs."
#: a database error: the batch is offered again after this many seconds (not at once, in a loop)
RETRY_DELAY = 2.0
STREAM_WAIT = 30.0
#: a fetch returns what arrived within this many seconds: nats-py waits for a full batch until
#: its timeout, which under a light load would hold the first alert of a batch that long
FETCH_WAIT = 0.1


def alert_filter(topic_prefix: str) -> str:
    """The consumer's filter: every home's alerts under the hubs' topic prefix."""
    return f"{SUBJECT_PREFIX}{topic_prefix.replace('/', '.')}.*.alerts.>"


def uplink_filters(topic_prefix: str) -> list[str]:
    """The consumer's filters: every home's alerts and consent notices (nats-server >= 2.10)."""
    notice = f"{SUBJECT_PREFIX}{topic_prefix.replace('/', '.')}.*.{NOTICE_TOPIC.replace('/', '.')}"
    return [alert_filter(topic_prefix), notice]


def topic_of(subject: str) -> str:
    """The MQTT topic of a ``$MQTT.msgs`` subject (home ids and alert kinds have no dots)."""
    return subject.removeprefix(SUBJECT_PREFIX).replace(".", "/")


def _touch_mqtt(url: str, timeout: float = 10.0) -> None:
    """Connect once to an MQTT listener (clean session): the server creates the account's MQTT
    streams on the first MQTT connect, ``$MQTT_msgs`` among them."""
    parts = urlsplit(url)
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"dhome-setup-{secrets.token_hex(4)}", protocol=paho.MQTTv311
    )
    if parts.scheme == "mqtts":
        client.tls_set()
    client.connect(
        parts.hostname or "", parts.port or (8883 if parts.scheme == "mqtts" else 1883), keepalive=10
    )
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not client.is_connected():
            raise OSError(f"no CONNACK from {parts.hostname}:{parts.port} within {timeout:.0f}s")
    finally:
        client.disconnect()
        client.loop_stop()


async def connect(settings: NatsSettings, name: str) -> Nats:
    """A NATS connection that reconnects forever, to any server of the list."""
    options: dict[str, Any] = {
        "servers": settings.servers,
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "connect_timeout": 5,
        "allow_reconnect": True,
    }
    if settings.user:
        options |= {"user": settings.user, "password": settings.password}
    if settings.ca_file:
        options["tls"] = ssl.create_default_context(cafile=settings.ca_file)
    return await nats.connect(**options)


async def ensure_consumer(js: JetStreamContext, settings: NatsSettings) -> None:
    """Make the durable consumer (idempotent: every worker does it at start; a changed
    ``ack_wait`` is applied)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_WAIT
    while True:
        try:
            await js.stream_info(STREAM)
            break
        except NotFoundError:
            if loop.time() > deadline:
                raise RuntimeError(f"NATS has no {STREAM} stream: is its MQTT listener enabled?") from None
            for url in settings.mqtt:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(_touch_mqtt, url)
                    break
            await asyncio.sleep(0.5)
    config = ConsumerConfig(
        durable_name=settings.durable,
        filter_subjects=uplink_filters(settings.topic_prefix),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait,
        max_deliver=-1,  # a message is never given up on: a database outage only delays it
        max_ack_pending=20_000,
    )
    await js.add_consumer(STREAM, config)  # create or update (nats-server >= 2.10)


class JetStreamWorker:
    """One worker: fetches batches from the shared durable consumer, stores each batch in one
    transaction, then acknowledges it. Runs as a task of the web app or of ``dhome-community
    worker``; any number of them, in any number of processes."""

    def __init__(
        self,
        settings: NatsSettings,
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
        self.ready = asyncio.Event()
        #: messages by outcome (stored, duplicate, rejected, unknown_home, error) since start
        self.counts: Counter[str] = Counter()
        self._nc: Nats | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run in the background: connect, make the consumer, take messages; while the cluster
        is out of reach, keep trying (the web app starts all the same)."""
        self._task = asyncio.create_task(self._main(), name="jetstream-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    async def _close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(NatsError, OSError):
                await nc.close()

    async def _main(self) -> None:
        while True:
            try:
                self._nc = await connect(
                    self.settings, f"dhome-community-{socket.gethostname()}-{os.getpid()}"
                )
                js = self._nc.jetstream()
                await ensure_consumer(js, self.settings)
                sub = await js.pull_subscribe_bind(self.settings.durable, stream=STREAM)
            except (NatsError, OSError, RuntimeError) as exc:
                self.throttle.warn("connect", "NATS cluster out of reach; trying again", error=repr(exc))
                await self._close()
                await asyncio.sleep(RETRY_DELAY)
                continue
            log.info("taking alerts from NATS", extra={"durable": self.settings.durable})
            self.ready.set()
            await self._run(sub)

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                msgs = await sub.fetch(self.settings.batch, timeout=FETCH_WAIT)
            except (NatsTimeout, TimeoutError):
                continue
            except NatsError as exc:  # the cluster is changing leaders or we are reconnecting
                self.throttle.warn("fetch", "NATS fetch failed; trying again", error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            await self.handle(msgs)

    async def handle(self, msgs: list[Msg]) -> None:
        batch = [(topic_of(m.subject), m.data) for m in msgs]
        try:
            outcomes, alerts = await asyncio.to_thread(
                take_batch, self.store, self.throttle, self.settings.topic_prefix, batch,
                views=self.on_alert is not None,
            )  # fmt: skip
        except Exception as exc:  # the database is away: offered again later, to us or another worker
            self.metrics.uplink.labels("error").inc(len(msgs))
            self.counts["error"] += len(msgs)
            self.throttle.warn("error", "alerts not stored; they will be redelivered", error=repr(exc))
            for m in msgs:
                with contextlib.suppress(NatsError):
                    await m.nak(delay=RETRY_DELAY)
            return
        count(self.metrics, self.settings.topic_prefix, batch, outcomes, self.on_household)
        for m, outcome in zip(msgs, outcomes, strict=True):
            self.counts[outcome] += 1
            with contextlib.suppress(NatsError):  # a lost ack means a redelivery, stored once
                await m.ack()
        if self.on_alert is not None:
            for alert in alerts:
                self.on_alert(alert)
