"""One MQTT connection driven by the asyncio loop (paho-mqtt 2.x, no extra thread).

paho does the protocol; this module does the I/O scheduling (paho's external-loop socket
callbacks -> ``loop.add_reader``/``add_writer``), turns paho callbacks into futures keyed by
message id, reconnects with exponential backoff and jitter, and re-subscribes every filter
after each reconnect (the broker re-sends retained messages).

With ``session_expiry`` > 0 the session is persistent (MQTT 5 clean start off with a session
expiry interval; 3.1.1 clean session off): a QoS 1 message is acknowledged only once its
handlers are done and the ``ack_gate`` (the hub: "what it caused is durable") has passed, so
a message the process had not finished with is redelivered by the broker after a crash.
Messages the broker replays before their handler is registered (right after CONNACK) are
held until it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import random
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from adapters.sdk.giveway import GIVE_WAY, HOLD, POLL, SLICE
from adapters.sdk.mqtt.errors import (
    MqttClosed,
    MqttConnectError,
    MqttError,
    MqttPublishError,
    MqttRefused,
    MqttSubscribeError,
    MqttTimeout,
)
from adapters.sdk.mqtt.settings import BrokerSettings, Protocol
from adapters.sdk.mqtt.topics import matches, validate_filter, validate_topic


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """A received message. ``retain`` is True only for stored messages the broker replays
    because of a (re)subscribe; live messages arrive with ``retain=False`` (MQTT 3.1.1 and 5
    alike, since we never ask for retain-as-published). ``arrival``: its place in the order the
    connection received messages (1, 2, …; 0 for one made elsewhere). A handler may see a
    message later than it arrived (one a resumed session replayed before its handler existed
    waits for it), so what a handler decides by the order of arrival reads ``arrival``, not the
    order of the calls (the safety lane's hand-over, lanes.py)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    arrival: int = field(default=0, compare=False)


MessageCallback = Callable[[MqttMessage], Awaitable[None] | None]
#: a synchronous handler taking every message of one read at once (``subscribe_batch``)
BatchCallback = Callable[[list[MqttMessage]], None]
AckGate = Callable[[], Awaitable[None]]
#: messages replayed before any handler claims them (persistent sessions), held this many at most
_UNCLAIMED_MAX = 10_000
ConnectionListener = Callable[[bool], None]
Unsubscribe = Callable[[], None]

# CONNACK reasons that mean "these settings will never work" (MQTT 5 §3.2.2.2; paho maps the
# 3.1.1 return codes 1, 2, 4, 5 onto 132, 133, 134, 135).
_FATAL_CONNACK = frozenset({0x84, 0x85, 0x86, 0x87, 0x8C})
_MISC_INTERVAL = 1.0
_MATCH_CACHE = 10_000  # topics whose matching filters are remembered (3.1.1)
#: packets handled per wake-up of one connection: a flood on one (bulk telemetry) delays the
#: others (the safety lane's own connection) by at most this many messages' work
_MAX_PACKETS_PER_WAKEUP = 256
#: ... and at most this long (seconds): on a loaded machine 256 messages took 70-220 ms, and
#: every step of a smoke alarm's way through the hub (lane read, alert engine, SQLite thread's
#: answer, webhook response) waits for one loop turn
_SLICE_SECONDS = SLICE
#: QoS 0 packets taken from the buffer at once, between two looks at the clock
_CHUNK = 32


@dataclass(eq=False)
class _Handler:
    callback: MessageCallback
    #: set for a batch handler: ``callback`` then wraps it for messages that come one by one
    batch: BatchCallback | None = None


@dataclass(eq=False)
class _Subscription:
    pattern: str
    qos: int
    sub_id: int
    handlers: list[_Handler] = field(default_factory=list)


class _Client(paho.Client):
    """paho's client with a TLS set-up that closes the socket when the handshake fails
    (paho 2.2 leaks it; the host name is checked by the SSL context itself), and buffered
    reads: paho asks the socket for one header byte at a time, i.e. 3 or 4 ``recv`` system
    calls per message; here one ``recv`` fetches everything the kernel holds."""

    _READ_CHUNK = 256 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0

    def buffered(self) -> bool:
        """Bytes are waiting in our buffer, where the selector cannot see them."""
        return self._rpos < len(self._rbuf)

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            chunk = super()._sock_recv(max(bufsize, self._READ_CHUNK))
            if len(chunk) <= bufsize:
                return chunk  # includes b"" (connection closed): paho handles it
            self._rbuf, self._rpos = chunk, 0
        start = self._rpos
        self._rpos = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start : self._rpos]

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0  # bytes of a dead connection must not leak into the next
        super()._sock_close()

    def take_publishes(self, v5: bool, limit: int) -> list[_Publish]:
        """The QoS 0 PUBLISH packets complete at the head of the read buffer (at most
        ``limit``), parsed here and consumed, so paho never sees them.

        A message stream is almost all QoS 0 PUBLISH, and paho's generic packet reader costs
        more per message than everything a subscriber does with it. Anything else — another
        packet type, QoS 1/2, an MQTT 5 property other than subscription identifiers, a
        packet not yet complete, paho halfway through a packet — stops the scan and is left
        to paho, in order."""
        if self._in_packet["command"] != 0:
            return []
        buf, pos, end = self._rbuf, self._rpos, len(self._rbuf)
        out: list[_Publish] = []
        while pos < end and len(out) < limit:
            first = buf[pos]
            if first & 0xF6 != 0x30:  # PUBLISH, QoS 0 (DUP and RETAIN may be set)
                break
            head = _varint(buf, pos + 1, end)
            if head is None:
                break  # remaining length incomplete (or malformed: paho says so)
            length, i = head
            stop = i + length
            if stop > end or length < 2:
                break
            topic_end = i + 2 + (buf[i] << 8 | buf[i + 1])
            if topic_end > stop:
                break
            sub_ids: list[int] = []
            body = topic_end
            if v5:
                parsed = _v5_properties(buf, topic_end, stop)
                if parsed is None:
                    break
                body, sub_ids = parsed
            out.append(_Publish(buf[i + 2 : topic_end], buf[body:stop], bool(first & 1), sub_ids))
            pos = stop
        if out:
            self._rpos = pos
            self._last_bytes_received = time.monotonic()  # paho's keepalive bookkeeping
        return out

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        assert self._ssl_context is not None
        ssl_sock = self._ssl_context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        try:
            ssl_sock.settimeout(self._connect_timeout)
            ssl_sock.do_handshake()
        except BaseException:
            ssl_sock.close()
            raise
        return ssl_sock


@dataclass(slots=True)
class _Publish:
    topic: bytes
    payload: bytes
    retain: bool
    sub_ids: list[int]


def _varint(buf: bytes, i: int, end: int) -> tuple[int, int] | None:
    """(value, next index) of an MQTT variable byte integer, None if incomplete/too long."""
    value, shift = 0, 0
    while i < end and shift <= 21:
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7
    return None


_SUBSCRIPTION_IDENTIFIER = 0x0B


def _v5_properties(buf: bytes, i: int, end: int) -> tuple[int, list[int]] | None:
    """(payload start, subscription identifiers) of an MQTT 5 PUBLISH whose properties are
    only subscription identifiers; None for anything else (paho reads that packet)."""
    head = _varint(buf, i, end)
    if head is None:
        return None
    size, i = head
    stop = i + size
    if stop > end:
        return None
    ids: list[int] = []
    while i < stop:
        if buf[i] != _SUBSCRIPTION_IDENTIFIER:
            return None
        sub_id = _varint(buf, i + 1, stop)
        if sub_id is None:
            return None
        ids.append(sub_id[0])
        i = sub_id[1]
    return stop, ids


class MqttConnection:
    """``async with MqttConnection(settings) as conn:`` connects (retrying until
    ``connect_timeout``), keeps the connection up until the block ends and closes it."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        logger: logging.Logger | None = None,
        will: tuple[str, str] | None = None,
    ) -> None:
        """``will``: (topic, payload) the broker publishes, retained, when this client is gone
        without saying goodbye (a hub that died: e.g. its entities become unavailable in HA)."""
        self.settings = settings
        self._will = will
        self.client_id = settings.client_id or f"dhome-{secrets.token_hex(6)}"
        self.connects = 0  # successful CONNACKs so far (observability)
        self.read_directly = 0  # QoS 0 messages read past paho (observability)
        self.acked = 0  # QoS 1/2 messages acknowledged by hand (persistent sessions; observability)
        self._log = logger or logging.getLogger("dhome.mqtt")
        self._v5 = settings.protocol is Protocol.MQTT5
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._fd: int | None = None
        self._writing = False
        #: a slice of buffered packets is scheduled for the next loop turn (_resume_read)
        self._resuming = False
        #: a bulk connection beside a safety lane: its reads give way to safety work in
        #: flight (adapters.sdk.giveway); set by the lane, never for the lane's own connection
        self.gives_way = False
        self._held_at: float | None = None  # loop time the current hold began
        self._owed_slice = False  # a hold ran to HOLD: one slice before the next hold
        self._connected = False
        self._closed = False
        self._lost = asyncio.Event()
        self._up = asyncio.Event()
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._connecting: asyncio.Future[Any] | None = None
        self._subs: dict[str, _Subscription] = {}
        self._by_sub_id: dict[int, str] = {}
        self._matching: dict[str, list[str]] = {}  # topic -> filters it matches (3.1.1)
        self._sub_ids = itertools.count(1)
        self._arrivals = 0  # messages received so far (MqttMessage.arrival)
        self._pending_pub: dict[int, asyncio.Future[None]] = {}
        self._pending_sub: dict[int, asyncio.Future[list[ReasonCode] | None]] = {}
        self._listeners: list[ConnectionListener] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._misc: asyncio.Task[None] | None = None
        self._persistent = settings.session_expiry > 0
        self._ack_gate: AckGate | None = None
        self._generation = 0  # connections so far: an ack belongs to the one that got the message
        self._to_ack: list[tuple[int, int, int, list[asyncio.Task[Any]]]] = []
        self._ack_wake = asyncio.Event()
        self._acker: asyncio.Task[None] | None = None
        self._unclaimed: deque[tuple[MqttMessage, int, int]] = deque()
        self._endpoints = settings.endpoints()  # url, then the failover urls of the same cluster
        self._at = 0  # the endpoint connects go to now

    def set_ack_gate(self, gate: AckGate) -> None:
        """``await gate()`` before QoS 1 messages are acknowledged (persistent sessions only)."""
        self._ack_gate = gate

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self._connected else "disconnected")
        return f"<MqttConnection {self.server_url} client_id={self.client_id!r} {state}>"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect; retry until ``connect_timeout``; a refused CONNECT fails at once."""
        if self._client is not None:
            raise RuntimeError("MqttConnection.open() called twice")
        loop = self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._client = self._make_client()
        self._misc = loop.create_task(self._misc_loop(), name=f"mqtt-misc {self.client_id}")
        if self._persistent:
            self._acker = loop.create_task(self._ack_loop(), name=f"mqtt-acks {self.client_id}")
        deadline = loop.time() + self.settings.connect_timeout
        attempt = 0
        while True:
            try:
                await self._connect_once(max(deadline - loop.time(), 0.1))
                break
            except MqttRefused as exc:
                await self.close()
                # by name: compiled with mypyc, a bare `raise` after an `await` in the handler
                # re-raised the wrong exception (a CancelledError)
                raise exc
            except (OSError, MqttError, TimeoutError) as exc:
                delay = self._backoff(attempt)
                attempt += 1
                if loop.time() + delay >= deadline:
                    await self.close()
                    raise MqttConnectError(
                        f"cannot connect to {self._tried()} within {self.settings.connect_timeout}s: {exc}"
                    ) from exc
                self._next_endpoint()
                await asyncio.sleep(delay)
        self._supervisor = loop.create_task(self._supervise(), name=f"mqtt-supervisor {self.client_id}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        was_connected = self._connected
        for task in (self._supervisor, self._misc, self._acker):
            if task is not None:
                task.cancel()
        for task in (self._supervisor, self._misc, self._acker):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._connecting is not None:
            # a connect running in the executor cannot be cancelled: let it finish, then close
            await asyncio.wait([self._connecting])
            if not self._connecting.cancelled():
                self._connecting.exception()  # its OSError, if any, no longer matters
            self._connecting = None
        client = self._client
        if client is not None:
            if self._connected:
                client.disconnect()
                client.loop_write()  # writes DISCONNECT; paho then closes the socket
            if client.socket() is not None:
                client._sock_close()  # no public call closes a half-open socket
        self._unregister_io()
        self._connected = False
        self._up.clear()
        pending: list[asyncio.Future[Any]] = [*self._pending_pub.values(), *self._pending_sub.values()]
        for fut in pending:
            if not fut.done():
                fut.set_exception(MqttClosed("connection closed"))
                fut.exception()  # mark retrieved: nobody may be waiting any more
        self._pending_pub.clear()
        self._pending_sub.clear()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if was_connected:
            self._notify(False)
        self._subs.clear()
        self._matching.clear()
        self._by_sub_id.clear()
        self._listeners.clear()

    @property
    def server_url(self) -> str:
        """The server connects go to now (no credentials): url or one of the failover urls."""
        host, port = self._endpoints[self._at]
        return f"{'mqtts' if self.settings.tls else 'mqtt'}://{host}:{port}"

    def _tried(self) -> str:
        return self.server_url if len(self._endpoints) == 1 else f"any of {len(self._endpoints)} servers"

    def _next_endpoint(self) -> None:
        """Aim the next connect at the next server of the list (a no-op with one)."""
        if len(self._endpoints) > 1 and self._client is not None:
            self._at = (self._at + 1) % len(self._endpoints)
            self._aim(self._client)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def closed(self) -> bool:
        return self._closed

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once connected (immediately if already); ``TimeoutError`` otherwise."""
        self._ensure_open()
        async with asyncio.timeout(timeout):
            await self._up.wait()

    def on_connection_change(self, listener: ConnectionListener) -> Unsubscribe:
        """Call ``listener(True)`` after every (re)connect — subscriptions already re-sent —
        and ``listener(False)`` when the connection is lost or closed."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    # ------------------------------------------------------------------ pub/sub

    async def subscribe(self, pattern: str, callback: MessageCallback, *, qos: int = 1) -> Unsubscribe:
        """Call ``callback(message)`` for every message whose topic matches ``pattern``
        (``+``/``#`` wildcards). Returns once the broker acknowledged the subscription (or
        at once while disconnected: it is sent on connect). Retained messages are replayed
        to every handler of the filter, so handlers must treat them as idempotent state.
        A callback may be a coroutine function; it then runs as a task. Exceptions in
        callbacks are logged, never propagated."""
        return await self._add_handler(pattern, _Handler(callback), qos)

    async def subscribe_batch(self, pattern: str, callback: BatchCallback, *, qos: int = 1) -> Unsubscribe:
        """Like ``subscribe``, but ``callback`` (synchronous) gets every matching message of
        one socket read as one list, in arrival order: one call per read instead of one per
        message, which is what lets a handler decode, map and store a whole read in one pass.
        Messages that paho reads (QoS 1/2, other packets in between) come as lists of one."""

        def one(message: MqttMessage) -> None:
            callback([message])

        return await self._add_handler(pattern, _Handler(one, callback), qos)

    async def _add_handler(self, pattern: str, handler: _Handler, qos: int) -> Unsubscribe:
        validate_filter(pattern)
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        self._ensure_open()
        sub = self._subs.get(pattern)
        if sub is None:
            sub = _Subscription(pattern, qos, next(self._sub_ids))
            self._subs[pattern] = sub
            self._matching.clear()
            self._by_sub_id[sub.sub_id] = pattern
        sub.qos = max(sub.qos, qos)
        sub.handlers.append(handler)
        self._claim_unclaimed()
        if self._connected:
            try:
                await self._subscribe_and_wait(sub)
            except BaseException:
                self._remove_handler(pattern, handler)
                raise

        def unsubscribe() -> None:
            self._remove_handler(pattern, handler)

        return unsubscribe

    async def publish(
        self,
        topic: str,
        payload: bytes | str | None = b"",
        qos: int = 1,
        retain: bool = False,
        *,
        timeout: float | None = None,
    ) -> None:
        """Publish; for QoS 1/2 return once the broker acknowledged (PUBACK/PUBCOMP).
        While disconnected QoS 1/2 messages are queued and sent on reconnect (up to
        ``max_queued``); QoS 0 fails with ``MqttPublishError``."""
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        client = self._ensure_open()
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            raise MqttPublishError(
                f"publish to {topic!r}: {self.settings.max_queued} messages already wait for the broker"
            )
        if qos == 0:
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise MqttPublishError(f"publish to {topic!r}: not connected ({paho.error_string(info.rc)})")
            return
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise MqttPublishError(f"publish to {topic!r}: {paho.error_string(info.rc)}")
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending_pub[info.mid] = fut
        wait = timeout if timeout is not None else self.settings.publish_timeout
        try:
            async with asyncio.timeout(wait):
                await fut
        except TimeoutError:
            raise MqttTimeout(f"publish to {topic!r}: no acknowledgement within {wait}s") from None
        finally:
            if self._pending_pub.get(info.mid) is fut:
                del self._pending_pub[info.mid]

    # ------------------------------------------------------------------ internals: connecting

    def _make_client(self) -> paho.Client:
        s = self.settings
        client = _Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5 if self._v5 else paho.MQTTv311,
            clean_session=None if self._v5 else not self._persistent,
            reconnect_on_failure=False,
            manual_ack=self._persistent,
        )
        client.suppress_exceptions = True
        client.connect_timeout = s.connect_timeout
        client.max_queued_messages_set(s.max_queued)
        user, password = s.credentials()
        if user is not None:
            client.username_pw_set(user, password)
        if self._will is not None:
            client.will_set(self._will[0], self._will[1], qos=1, retain=True)
        if s.tls:
            client.tls_set_context(self._ssl_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_change
        client.on_socket_register_write = self._on_socket_change
        client.on_socket_unregister_write = self._on_socket_change
        client.on_socket_close = self._on_socket_close
        self._aim(client)
        return client

    def _aim(self, client: paho.Client) -> None:
        """Point paho's next (re)connect at the current endpoint (it connects nowhere yet)."""
        s = self.settings
        host, port = self._endpoints[self._at]
        if self._v5 and self._persistent:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry
            client.connect_async(host, port, s.keepalive, clean_start=False, properties=props)
        elif self._v5:
            # clean start every time: subscriptions are ours to restore, not the broker's
            client.connect_async(host, port, s.keepalive, clean_start=True)
        else:
            client.connect_async(host, port, s.keepalive)

    def _ssl_context(self) -> ssl.SSLContext:
        s = self.settings
        ctx = ssl.create_default_context(cafile=str(s.tls_ca) if s.tls_ca else None)
        if s.tls_cert is not None:
            ctx.load_cert_chain(str(s.tls_cert), str(s.tls_key) if s.tls_key else None)
        if s.tls_insecure:
            ctx.check_hostname = False
        return ctx

    async def _connect_once(self, ack_within: float) -> None:
        client, loop = self._client, self._loop
        assert client is not None and loop is not None
        self._unregister_io()
        self._lost.clear()
        self._connack = loop.create_future()
        # paho's connect is blocking (DNS, TCP, TLS handshake): run it off the loop
        connecting = self._connecting = loop.run_in_executor(None, client.reconnect)
        try:
            rc = await asyncio.shield(connecting)
        finally:
            if connecting.done():  # else close() must still wait for it before closing the socket
                self._connecting = None
        if self._closed:
            raise MqttClosed("connection closed while connecting")
        self._sync_io()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise MqttConnectError(f"CONNECT not sent: {paho.error_string(rc)}")
        try:
            async with asyncio.timeout(ack_within):
                reason = await self._connack
        except TimeoutError:
            self._drop_socket()
            raise MqttConnectError(f"no CONNACK from {self.server_url} within {ack_within:.1f}s") from None
        if reason.is_failure:
            self._drop_socket()
            msg = f"broker {self.server_url} refused the connection: {reason}"
            if reason.value in _FATAL_CONNACK:
                raise MqttRefused(msg)
            raise MqttConnectError(msg)
        self._connected = True
        self.connects += 1
        self._up.set()
        self._log.info("connected to %s as %s", self.server_url, self.client_id)
        self._notify(True)

    async def _supervise(self) -> None:
        """After a loss: wait, reconnect with exponential backoff + jitter, forever."""
        while True:
            await self._lost.wait()
            attempt = 0
            while True:
                # the server may be the thing that is gone: the next of a cluster's list first
                self._next_endpoint()
                delay = self._backoff(attempt)
                attempt += 1
                await asyncio.sleep(delay)
                try:
                    await self._connect_once(self.settings.connect_timeout)
                    break
                except (OSError, MqttError, TimeoutError) as exc:
                    log = self._log.error if isinstance(exc, MqttRefused) else self._log.warning
                    log("reconnect to %s failed (attempt %d): %s", self.server_url, attempt, exc)

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        ceiling = min(s.reconnect_max_delay, s.reconnect_min_delay * 2 ** min(attempt, 30))
        return float(ceiling * random.uniform(0.5, 1.0))  # jitter spreads reconnect storms

    async def _misc_loop(self) -> None:
        """paho's keepalive bookkeeping (PINGREQ, dead-connection detection)."""
        while True:
            await asyncio.sleep(_MISC_INTERVAL)
            if self._client is not None and self._client.socket() is not None:
                self._client.loop_misc()
                self._sync_io()

    def _drop_socket(self) -> None:
        client = self._client
        if client is not None and client.socket() is not None:
            client._sock_close()
        self._unregister_io()

    # ------------------------------------------------------------------ internals: I/O

    def _in_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def _on_socket_change(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._in_loop_thread():
            self._sync_io()
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._sync_io)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._in_loop_thread():
            self._unregister_io()

    def _sync_io(self) -> None:
        """Make the loop watch exactly what paho needs: read always, write when queued."""
        client, loop = self._client, self._loop
        if client is None or loop is None or loop.is_closed():
            return
        sock = client.socket()
        if sock is None:
            self._unregister_io()
            return
        fd = sock.fileno()
        if fd != self._fd:
            self._unregister_io()
            self._fd = fd
            loop.add_reader(fd, self._on_readable)
        want = client.want_write()
        if want and not self._writing:
            loop.add_writer(fd, self._on_writable)
            self._writing = True
        elif not want and self._writing:
            loop.remove_writer(fd)
            self._writing = False

    def _unregister_io(self) -> None:
        if self._fd is not None and self._loop is not None and not self._loop.is_closed():
            if self._writing:
                self._loop.remove_writer(self._fd)
            self._loop.remove_reader(self._fd)
        self._fd = None
        self._writing = False

    def _on_readable(self) -> None:
        if self._resuming:
            # the selector says readable while our own next slice is already scheduled: one
            # slice per loop turn. Without this check every turn added one more slice (the
            # selector's and each scheduled resume's scheduled another), and under a
            # sustained flood one loop turn grew to seconds of bulk work: everything else on
            # the loop — the safety lane's connection, the alert engine, the outbox — waited.
            return
        if self.gives_way and self._hold():
            return
        client = self._client
        assert isinstance(client, _Client)
        # One wake-up handles every packet already read: QoS 0 PUBLISH packets straight from
        # the read buffer, anything else by paho (one packet per loop_read, which also reads
        # the socket once the buffer is empty); bounded so a flood cannot starve the loop.
        budget = _MAX_PACKETS_PER_WAKEUP
        deadline = time.perf_counter() + _SLICE_SECONDS
        while budget > 0:
            fast = client.take_publishes(self._v5, min(budget, _CHUNK))
            if fast:
                self._deliver_publishes(fast)
                self.read_directly += len(fast)
            budget -= len(fast) + 1
            if fast and self.gives_way and GIVE_WAY.serve_lanes():
                # a safety message was read on the lane (from here, not after this turn and
                # the selector's next look): its handling goes before our next chunk, which
                # then gives way while it is in flight
                budget = 0
                continue
            if fast and time.perf_counter() >= deadline:
                budget = 0  # the slice is used up: the rest on the next turn (below)
                continue
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            # TLS: decrypted bytes can also wait inside the SSL object
            sock = client.socket()
            if not client.buffered() and not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                break
        else:
            # bytes left in our buffer: come back on the next loop turn, the selector won't say so
            assert self._loop is not None
            self._resuming = True
            self._loop.call_soon(self._resume_read)
        self._sync_io()

    def fileno(self) -> int | None:
        """The socket's descriptor while connected (``adapters.sdk.giveway``: a bulk turn
        beside a lane polls the lane's)."""
        return self._fd

    def read_now(self) -> None:
        """Read what has arrived, now, as the loop's reader would on its next look (from
        inside a bulk turn: ``GiveWay.serve_lanes``)."""
        if self._fd is not None and not self._resuming and self._held_at is None:
            self._on_readable()

    def _hold(self) -> bool:
        """Whether this bulk connection holds its reads back now, for safety work in flight
        (``adapters.sdk.giveway``): the reader is off until the work is done or ``HOLD`` has
        passed, then at least one slice is read before the next hold."""
        loop = self._loop
        assert loop is not None
        if self._held_at is None:
            if self._owed_slice:
                self._owed_slice = False
                return False
            if not GIVE_WAY.urgent():
                return False
            self._held_at = loop.time()
            GIVE_WAY.holds += 1
            loop.call_later(POLL, self._check_hold)
        if self._fd is not None:
            loop.remove_reader(self._fd)  # no wake-ups while held (a reconnect re-added it)
        return True

    def _check_hold(self) -> None:
        loop, held_at = self._loop, self._held_at
        if loop is None or held_at is None or self._closed:
            self._held_at = None
            return
        waited = loop.time() - held_at
        if waited < HOLD and GIVE_WAY.urgent():
            loop.call_later(POLL, self._check_hold)
            return
        self._held_at = None
        self._owed_slice = waited >= HOLD
        if self._fd is not None:
            loop.add_reader(self._fd, self._on_readable)
        if isinstance(self._client, _Client) and self._client.buffered() and not self._resuming:
            self._resuming = True
            loop.call_soon(self._resume_read)

    def _resume_read(self) -> None:
        self._resuming = False
        if (
            isinstance(self._client, _Client)
            and self._client.socket() is not None
            and self._client.buffered()
        ):
            self._on_readable()

    def _on_writable(self) -> None:
        client = self._client
        assert client is not None
        client.loop_write()
        self._sync_io()

    # ------------------------------------------------------------------ internals: paho callbacks

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if not reason.is_failure:
            # a new connection from here on: the broker may send messages in the same read
            self._generation += 1
            # re-subscribe right here: paho re-sends queued publishes after this callback,
            # and our own queued messages should reach our own subscriptions
            for sub in self._subs.values():
                self._send_subscribe(sub)
        fut = self._connack
        if fut is not None and not fut.done():
            fut.set_result(reason)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if not self._in_loop_thread():
            return
        was_connected, self._connected = self._connected, False
        self._up.clear()
        self._lost.set()
        fut = self._connack
        if fut is not None and not fut.done():
            fut.set_exception(MqttConnectError(f"connection closed before CONNACK ({reason})"))
        for sub_fut in self._pending_sub.values():
            if not sub_fut.done():
                sub_fut.set_result(None)  # the filter is re-sent on reconnect
        self._pending_sub.clear()
        if was_connected and not self._closed:
            self._log.warning("connection to %s lost: %s", self.server_url, reason)
            self._notify(False)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            self._log.warning("dropped a message whose topic is not UTF-8: %r", msg._topic)
            return
        ids = getattr(msg.properties, "SubscriptionIdentifier", None) if msg.properties is not None else None
        id_list = (ids if isinstance(ids, list) else [ids]) if ids else []
        if id_list and self._persistent and not self._ids_name_filters_of(topic, id_list):
            id_list = []  # by its topic
        self._arrivals += 1
        message = MqttMessage(topic, bytes(msg.payload), msg.qos, bool(msg.retain), self._arrivals)
        if not self._persistent or msg.qos == 0:
            self._deliver(message, id_list)
            return
        tasks = self._deliver(message, id_list)
        if tasks is None:  # replayed before its handler exists: held, acknowledged once handled
            self._unclaimed.append((message, msg.mid, self._generation))
            if len(self._unclaimed) > _UNCLAIMED_MAX:
                old, mid, generation = self._unclaimed.popleft()
                self._log.warning("dropped a replayed message nobody subscribes to: %s", old.topic)
                self._queue_ack(mid, old.qos, generation, [])
            return
        self._queue_ack(msg.mid, msg.qos, self._generation, tasks)

    def _deliver_publishes(self, publishes: list[_Publish]) -> None:
        """The QoS 0 messages of one read: each to its per-message handlers as it comes, and
        to each batch handler as one list once all are read (per handler, in arrival order)."""
        batches: dict[_Handler, list[MqttMessage]] = {}
        for publish in publishes:
            try:
                topic = publish.topic.decode()
            except UnicodeDecodeError:
                self._log.warning("dropped a message whose topic is not UTF-8: %r", publish.topic)
                continue
            self._arrivals += 1
            message = MqttMessage(topic, publish.payload, 0, publish.retain, self._arrivals)
            for pattern in self._filters_for(topic, publish.sub_ids):
                sub = self._subs.get(pattern)
                if sub is None:
                    continue
                for handler in tuple(sub.handlers):
                    if handler.batch is None:
                        self._call(handler, message)
                        continue
                    batch = batches.get(handler)
                    if batch is None:
                        batches[handler] = [message]
                    else:
                        batch.append(message)
        for handler, messages in batches.items():
            try:
                assert handler.batch is not None
                handler.batch(messages)
            except Exception:
                self._log.exception("handler for %d messages (%s …) failed", len(messages), messages[0].topic)

    def _deliver(self, message: MqttMessage, sub_ids: list[int]) -> list[asyncio.Task[Any]] | None:
        """Call the handlers of ``message``; the tasks of async ones, or None if none matched."""
        tasks: list[asyncio.Task[Any]] = []
        matched = False
        for pattern in self._filters_for(message.topic, sub_ids):
            sub = self._subs.get(pattern)
            if sub is None:
                continue
            for handler in list(sub.handlers):
                matched = True
                task = self._call(handler, message)
                if task is not None:
                    tasks.append(task)
        return tasks if matched else None

    def _queue_ack(self, mid: int, qos: int, generation: int, tasks: list[asyncio.Task[Any]]) -> None:
        self._to_ack.append((mid, qos, generation, tasks))
        self._ack_wake.set()

    async def _ack_loop(self) -> None:
        """Acknowledge handled QoS 1/2 messages in batches, once the gate says their effects are
        durable; acks of an earlier connection are dropped (the broker redelivers those)."""
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            batch, self._to_ack = self._to_ack, []
            handlers = [t for *_, tasks in batch for t in tasks]
            if handlers:
                await asyncio.gather(*handlers, return_exceptions=True)
            if self._ack_gate is not None:
                try:
                    await self._ack_gate()
                except Exception:
                    self._log.exception("acknowledgement gate failed; acknowledging anyway")
            client = self._client
            for mid, qos, generation, _ in batch:
                if client is not None and generation == self._generation:
                    client.ack(mid, qos)
                    self.acked += 1
            self._sync_io()

    def _claim_unclaimed(self) -> None:
        """A handler was added: hand it the replayed messages that were waiting for it."""
        if not self._unclaimed:
            return
        waiting, self._unclaimed = self._unclaimed, deque()
        for message, mid, generation in waiting:
            tasks = self._deliver(message, [])
            if tasks is None:
                self._unclaimed.append((message, mid, generation))
            else:
                self._queue_ack(mid, message.qos, generation, tasks)

    def _ids_name_filters_of(self, topic: str, sub_ids: list[int]) -> bool:
        """Whether each subscription identifier names a filter of this process that matches
        the topic. A resumed session's backlog carries the identifiers of the process that
        subscribed, and this one may have given them to other filters (subscribed in another
        order: an adapter that learns its topics at run time)."""
        for sub_id in sub_ids:
            pattern = self._by_sub_id.get(sub_id)
            if pattern is None or not matches(pattern, topic):
                return False
        return True

    def _filters_for(self, topic: str, sub_ids: list[int]) -> list[str]:
        # MQTT 5: the broker names the matching subscriptions, so overlapping filters
        # each get the message exactly once; 3.1.1 falls back to matching the topic.
        if sub_ids:
            known = [self._by_sub_id[i] for i in sub_ids if i in self._by_sub_id]
            if known:
                return known
            # identifiers of an earlier process's subscriptions (a resumed session): by topic
        found = self._matching.get(topic)
        if found is None:
            if len(self._matching) >= _MATCH_CACHE:
                self._matching.clear()
            found = self._matching[topic] = [p for p in self._subs if matches(p, topic)]
        return found

    def _call(self, handler: _Handler, message: MqttMessage) -> asyncio.Task[Any] | None:
        try:
            result = handler.callback(message)
        except Exception:
            self._log.exception("handler for %s failed", message.topic)
            return None
        if inspect.isawaitable(result):
            assert self._loop is not None
            task = self._loop.create_task(_await(result), name=f"mqtt-handler {message.topic}")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
            return task
        return None

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("message handler failed", exc_info=task.exception())

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        fut = self._pending_pub.pop(mid, None)
        if fut is None or fut.done():
            return
        if reason.is_failure:
            fut.set_exception(MqttPublishError(f"broker rejected the publish: {reason}"))
        else:
            fut.set_result(None)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        fut = self._pending_sub.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(list(codes))
        elif any(c.is_failure for c in codes):
            self._log.error("broker refused a re-subscription: %s", ", ".join(str(c) for c in codes))

    # ------------------------------------------------------------------ internals: subscriptions

    def _send_subscribe(self, sub: _Subscription) -> int | None:
        client = self._client
        assert client is not None
        if self._v5:
            props = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
            props.SubscriptionIdentifier = sub.sub_id
            rc, mid = client.subscribe(sub.pattern, qos=sub.qos, properties=props)
        else:
            rc, mid = client.subscribe(sub.pattern, qos=sub.qos)
        return mid if rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    async def _subscribe_and_wait(self, sub: _Subscription) -> None:
        mid = self._send_subscribe(sub)
        if mid is None:
            return  # not connected after all: sent on connect
        assert self._loop is not None
        fut: asyncio.Future[list[ReasonCode] | None] = self._loop.create_future()
        self._pending_sub[mid] = fut
        wait = self.settings.publish_timeout
        try:
            async with asyncio.timeout(wait):
                codes = await fut
        except TimeoutError:
            raise MqttTimeout(f"subscribe to {sub.pattern!r}: no SUBACK within {wait}s") from None
        finally:
            self._pending_sub.pop(mid, None)
        if codes is not None and any(c.is_failure for c in codes):
            raise MqttSubscribeError(f"broker refused the subscription to {sub.pattern!r}: {codes[0]}")

    def _remove_handler(self, pattern: str, handler: _Handler) -> None:
        sub = self._subs.get(pattern)
        if sub is None or handler not in sub.handlers:
            return
        sub.handlers.remove(handler)
        if sub.handlers:
            return
        del self._subs[pattern]
        self._matching.clear()
        self._by_sub_id.pop(sub.sub_id, None)
        if self._connected and self._client is not None:
            self._client.unsubscribe(pattern)

    # ------------------------------------------------------------------ internals: misc

    def _ensure_open(self) -> paho.Client:
        if self._closed:
            raise MqttClosed(f"{self!r} is closed")
        if self._client is None:
            raise MqttClosed(f"{self!r} is not open: use 'async with'")
        return self._client

    def _notify(self, up: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(up)
            except Exception:
                self._log.exception("connection listener failed")


async def _await(result: Awaitable[None]) -> None:
    await result
