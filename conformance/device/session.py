"""The tester's side of the broker: record everything below the device's topics, send commands.

One MQTT connection (the shared ``adapters.sdk.mqtt`` layer) subscribes to ``<base>/#`` and keeps
every message with its QoS and retain flag, so cases can look at the retained replay, live
traffic and, at the end, at everything the device published during the run.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from adapters.sdk.mqtt import BrokerSettings, MqttConnection, MqttMessage, PayloadError, decode_json_object


@dataclass(frozen=True)
class Seen:
    """One message below the device's base topic; ``sub`` is the part after ``<base>/``."""

    seq: int
    topic: str
    sub: str
    payload: bytes
    qos: int
    retain: bool
    at: float

    def json(self) -> dict[str, Any] | None:
        try:
            return decode_json_object(self.payload)
        except PayloadError:
            return None

    def shown(self, limit: int = 400) -> str:
        text = self.payload[:limit].decode("utf-8", errors="backslashreplace")
        return text + ("…" if len(self.payload) > limit else "")


@dataclass(frozen=True)
class Answer:
    """What came back for one request: the first result with its id (or none in time)."""

    sent: Any
    result: dict[str, Any] | None
    seen: Seen | None
    waited: float

    @property
    def status(self) -> str | None:
        return None if self.result is None else self.result.get("status")

    @property
    def error(self) -> dict[str, Any]:
        err = (self.result or {}).get("error")
        return err if isinstance(err, dict) else {}


def published_by_device(sub: str) -> bool:
    return sub == "desc" or sub.startswith("state/") or sub in ("event", "avail", "cmd/result")


class DeviceSession:
    def __init__(
        self, broker_url: str, device: str, *, home: str = "home", prefix: str = "dhi/v1", **broker: Any
    ) -> None:
        self.settings = BrokerSettings(
            url=broker_url, client_id=f"dhi-conformance-{secrets.token_hex(4)}", **broker
        )
        self.device = device
        self.base = f"{prefix}/{home}/{device}"
        self.messages: list[Seen] = []
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._conn: MqttConnection | None = None
        #: what the broker stores for the device, as a hub subscribing after start-up sees it
        self.snapshot: dict[str, Seen] | None = None
        #: (id, when, timeout) of every request with a string id, to watch for late repeats
        self.sent: list[tuple[str, float, float]] = []
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        self._conn = MqttConnection(self.settings)
        await self._conn.open()
        await self._conn.subscribe(f"{self.base}/#", self._record)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    @property
    def conn(self) -> MqttConnection:
        assert self._conn is not None, "session not open"
        return self._conn

    def _record(self, msg: MqttMessage) -> None:
        sub = msg.topic[len(self.base) + 1 :]
        self.messages.append(
            Seen(next(self._seq), msg.topic, sub, msg.payload, msg.qos, msg.retain, self._loop.time())
        )
        self._changed.set()

    # ------------------------------------------------------------ looking at traffic
    def now(self) -> float:
        return self._loop.time()

    async def wait(self, pred: Callable[[Seen], bool], timeout: float, *, after: int = 0) -> Seen | None:
        """The first message with ``seq > after`` matching ``pred``, waiting up to ``timeout`` s."""
        deadline = self._loop.time() + timeout
        checked = 0
        while True:
            for m in self.messages[checked:]:
                if m.seq > after and pred(m):
                    return m
            checked = len(self.messages)
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return None
            self._changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                return None

    async def settle(self, quiet: float = 0.3, limit: float = 5.0) -> None:
        """Return once no message arrived for ``quiet`` s (at most ``limit`` s)."""
        deadline = self._loop.time() + limit
        while self._loop.time() < deadline:
            last = self.messages[-1].at if self.messages else 0.0
            idle = self._loop.time() - last
            if idle >= quiet:
                return
            await asyncio.sleep(quiet - idle)

    @property
    def last_seq(self) -> int:
        return self.messages[-1].seq if self.messages else 0

    def device_messages(self) -> list[Seen]:
        return [m for m in self.messages if published_by_device(m.sub)]

    async def take_snapshot(self, wait: float = 0.3) -> None:
        """Subscribe anew (an equivalent filter) and keep what the broker replays as retained:
        messages the device was still sending when we first subscribed arrived live."""
        self.snapshot = {m.sub: m for m in await self.fresh_retained("+/#", wait)}

    def retained(self, sub: str) -> Seen | None:
        """The broker's stored message on ``sub`` (the snapshot, else the replay at subscribe time)."""
        if self.snapshot is not None:
            return self.snapshot.get(sub)
        found = [m for m in self.messages if m.sub == sub and m.retain]
        return found[-1] if found else None

    def latest(self, sub: str) -> Seen | None:
        found = [m for m in self.messages if m.sub == sub]
        return found[-1] if found else None

    def results_with_id(self, request_id: str) -> list[Seen]:
        out = []
        for m in self.messages:
            if m.sub == "cmd/result":
                doc = m.json()
                if doc is not None and doc.get("id") == request_id:
                    out.append(m)
        return out

    # ------------------------------------------------------------ talking to the device
    def new_id(self, tag: str = "c") -> str:
        return f"dhi-conf-{tag}-{next(self._ids)}"

    async def send(self, payload: bytes | dict[str, Any]) -> int:
        """Publish on ``<base>/cmd``; returns the seq after which answers count."""
        mark = self.last_seq
        raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        await self.conn.publish(f"{self.base}/cmd", raw, qos=1)
        if isinstance(payload, dict) and isinstance(payload.get("id"), str):
            timeout = payload.get("timeout")
            wait = float(timeout) if isinstance(timeout, int | float) and 0 < timeout <= 300 else 0.0
            self.sent.append((payload["id"], self._loop.time(), wait))
        return mark

    async def request(self, cmd: dict[str, Any], timeout: float) -> Answer:
        """Send a command with an ``id`` and wait for the first ``cmd/result`` carrying that id."""
        started = self._loop.time()
        mark = await self.send(cmd)
        want = cmd.get("id")

        def is_answer(m: Seen) -> bool:
            if m.sub != "cmd/result":
                return False
            doc = m.json()
            return doc is not None and doc.get("id") == want

        seen = await self.wait(is_answer, timeout, after=mark)
        return Answer(cmd, seen.json() if seen else None, seen, self._loop.time() - started)

    async def fresh_retained(self, suffix: str, wait: float = 0.5) -> list[Seen]:
        """Subscribe anew to ``<base>/<suffix>`` and return what the broker replays as retained."""
        got: list[Seen] = []

        def keep(msg: MqttMessage) -> None:
            if msg.retain:
                sub = msg.topic[len(self.base) + 1 :]
                got.append(Seen(0, msg.topic, sub, msg.payload, msg.qos, True, self._loop.time()))

        unsubscribe = await self.conn.subscribe(f"{self.base}/{suffix}", keep)
        await asyncio.sleep(wait)
        unsubscribe()
        return got

    async def take_over(self, client_id: str, timeout: float = 10.0) -> Will | None:
        """Connect with the device's client id: the broker drops the device's connection as if
        it had vanished and publishes its Last Will. None when the take-over connection was
        refused; else the first ``…/avail`` message that followed, as published (its retain
        flag and QoS are those of the Will: an MQTT 5 watcher asks for retain-as-published)."""
        return await asyncio.to_thread(
            _take_over_watched, self.settings, f"{self.base}/avail", client_id, timeout
        )


@dataclass(frozen=True)
class Will:
    """What the broker published on ``…/avail`` when the device's connection was dropped."""

    payload: bytes | None  # None: nothing within the timeout
    qos: int = 0
    retain: bool = False


def _client(settings: BrokerSettings, client_id: str, protocol: MQTTProtocolVersion) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    user, password = settings.credentials()
    if user is not None:
        client.username_pw_set(user, password)
    if settings.tls:
        client.tls_set_context(
            ssl.create_default_context(cafile=str(settings.tls_ca) if settings.tls_ca else None)
        )
    return client


def _take_over_watched(settings: BrokerSettings, topic: str, client_id: str, timeout: float) -> Will | None:
    watcher = _client(settings, f"dhi-conformance-will-{secrets.token_hex(4)}", paho.MQTTv5)
    got: list[paho.MQTTMessage] = []
    subscribed = threading.Event()
    watcher.on_message = lambda c, u, msg: got.append(msg)
    watcher.on_subscribe = lambda *args: subscribed.set()
    # retain handling 2: no replay of the stored copy; retain-as-published: the Will's own flag
    options = SubscribeOptions(qos=1, retainAsPublished=True, retainHandling=2)
    watcher.on_connect = lambda c, *args: c.subscribe(topic, options=options)
    try:
        watcher.connect(settings.host, settings.port, keepalive=10)
    except OSError:
        return None
    watcher.loop_start()
    try:
        if not subscribed.wait(timeout) or not _take_over(settings, client_id, timeout):
            return None
        deadline = time.monotonic() + timeout
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.disconnect()
        watcher.loop_stop()
    if not got:
        return Will(None)
    first = got[0]
    return Will(bytes(first.payload), first.qos, bool(first.retain))


def _take_over(settings: BrokerSettings, client_id: str, timeout: float) -> bool:
    client = _client(settings, client_id, paho.MQTTv311)
    acked = threading.Event()
    client.on_connect = lambda *args: acked.set()
    try:
        client.connect(settings.host, settings.port, keepalive=10)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while not acked.is_set() and time.monotonic() < deadline:
        client.loop(timeout=0.05)
    if acked.is_set():
        client.disconnect()
        client.loop(timeout=0.05)
    else:
        sock = client.socket()
        if sock is not None:
            sock.close()
    return acked.is_set()
