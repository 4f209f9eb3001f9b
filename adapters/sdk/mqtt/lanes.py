"""The safety lane on the wire: a second MQTT connection for the topics of priority devices
(``dhi.priority``), so a smoke alarm never waits behind a backlog of telemetry queued for the
adapter's main ("bulk") connection in the broker and the socket (docs/ingestion.md).

The bulk connection keeps its wide subscription (``zigbee2mqtt/#``); the lane connection
subscribes to the claimed topics, and the bulk handler skips what the lane owns (one set
lookup per message, before decoding). Handing a topic over loses nothing and keeps its
order, with a marker:

1. the lane subscribes to the topic (from here the broker sends it to both connections);
2. a marker is published on a private topic both connections subscribe to;
3. the lane drops its copies of the topic until its marker arrives (the bulk connection has
   those), holds the ones after it until the bulk connection has its marker too (so nothing
   overtakes what bulk still handles), then delivers them and everything after;
4. the bulk connection handles the topic until its marker arrives, then skips it.

A retained message replayed for a (re)subscription is always the bulk connection's: the
lane drops its copy, the bulk never skips one (after a lost broker the two connections
re-subscribe in either order, and a replay could otherwise fall between them). So is every
message that reached the bulk connection before its marker, whenever its handler runs: a
persistent session's backlog arrives at connect, waits for its handler (connection.py), and
may be handed to it after the lane took its topic over (``MqttMessage.arrival``).

If the lane connection is lost, every topic goes back to the bulk connection at once and is
handed over again once the lane is back.

With a persistent session (spec §12: a QoS 1 message is acknowledged only once what it caused
is durable) the bulk connection must not acknowledge a copy it skips before the lane's copy
is durable: a hub killed in between would lose a message the broker then holds for nobody
(decision 55). So the bulk handler's skip returns an awaitable (the connection acknowledges
after it), done once a *sync* round says so: a marker published on the lane's private sync
topic after the skip reaches the lane behind the lane's copy of every message the bulk
connection had skipped (the broker keeps each session's order), and once the lane has handled
everything before the marker and the ack gate has passed, the skipped copies are acknowledged.
A hub killed before that gets the bulk's copies again at its next start (the lane's session is
a clean one: its copies are gone with it), so at-least-once delivery and each device's order
hold. If the lane is lost or closed first, the bulk connection handles its skipped copies
itself, in order, before anything it reads after (a duplicate at worst).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextlib import AsyncExitStack
from typing import Any

from pydantic import Field

from adapters.sdk.giveway import GIVE_WAY
from adapters.sdk.mqtt.connection import AckGate, MessageCallback, MqttConnection, MqttMessage
from adapters.sdk.mqtt.errors import MqttClosed, MqttError
from adapters.sdk.mqtt.settings import BrokerSettings
from adapters.sdk.mqtt.topics import matches

#: lane messages held while the bulk connection finishes a topic's backlog, at most
HELD_MAX = 10_000
_MATCH_CACHE = 10_000  # topics whose wildcard claim is remembered

Deliver = Callable[[MqttMessage], Awaitable[None] | None]


class _Skipped:
    """A bulk copy skipped for the lane; ``result``: the bulk's own handling, if it had to."""

    __slots__ = ("callback", "msg", "result")

    def __init__(self, msg: MqttMessage, callback: MessageCallback) -> None:
        self.msg = msg
        self.callback = callback
        self.result: Awaitable[None] | None = None


class _Sync:
    """One sync round: the bulk copies skipped before its marker is published."""

    __slots__ = ("done", "skipped")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.skipped: list[_Skipped] = []


class _Claim:
    """The hand-over state of the topics claimed together (``marker`` None: the lane owns them)."""

    __slots__ = ("bulk_done", "bulk_from", "held", "lane_ready", "marker")

    def __init__(self, marker: str) -> None:
        self.marker: str | None = marker
        self.lane_ready = False  # the lane saw the marker: its copies from here on are new
        self.bulk_done = False  # bulk saw the marker: it has handled everything before
        #: the marker's arrival on the bulk connection: the lane has a copy of what came after
        self.bulk_from = 0
        self.held: list[MqttMessage] = []


def lane_option(*, default: bool = True) -> Any:
    """The ``safety_lane`` field of an MQTT adapter's config (one wording for all of them)."""
    return Field(
        default=default,
        description="a second broker connection for the topics of safety and care devices and of "
        "availability, so they never wait behind a backlog of telemetry (docs/ingestion.md)",
    )


def lane_allowed(bulk: BrokerSettings, *, withholds_acks: bool = False) -> bool:
    """Whether the lane may run beside this bulk connection. With a persistent session its
    skipped copies must be acknowledged only after the lane's copy is durable: a bulk handler
    made with ``SafetyLane.bulk`` does that (``withholds_acks``); one that just drops what
    ``owns`` names (Zigbee2MQTT's batch handler) runs beside a clean session only, else a hub
    killed in between would lose the message (decisions 55 and NN)."""
    return withholds_acks or bulk.session_expiry == 0


def lane_settings(bulk: BrokerSettings, client_id: str) -> BrokerSettings:
    """The lane's connection: the bulk one's broker, its own client id, a clean session. The
    bulk connection's session is what keeps a message for a hub that was away (it holds back
    the acknowledgement of every copy it skipped until the lane's is durable); a persistent
    lane session would only replay copies the lane drops, and keep subscriptions of an earlier
    run that nothing claims any more."""
    return bulk.model_copy(update={"client_id": f"{client_id[:120]}-lane", "session_expiry": 0})


class SafetyLane:
    """``await lane.open(bulk_conn, settings)``; the bulk handler starts with ``if
    lane.owns(topic): return``; ``await lane.claim(topics)`` hands exact topics over."""

    def __init__(self, deliver: Deliver, *, logger: logging.Logger | None = None) -> None:
        self._deliver = deliver
        self._log = logger or logging.getLogger("dhome.mqtt.lane")
        self._claims: dict[str, _Claim] = {}  # exact topics
        self._patterns: dict[str, _Claim] = {}  # wildcard filters
        self._matched: dict[str, _Claim | None] = {}  # topic -> the pattern claim it falls under
        self._subscribed: set[str] = set()
        self._by_marker: dict[str, _Claim] = {}
        self._markers = itertools.count(1)
        self._token = secrets.token_hex(6)
        self._bulk: MqttConnection | None = None
        self._conn: MqttConnection | None = None
        self._stack = AsyncExitStack()
        self._marker_topic = ""
        self._reclaim: asyncio.Task[None] | None = None
        self.dropped = 0  # held messages beyond HELD_MAX (logged)
        # persistent sessions: the bulk copies skipped since the last sync marker, and the
        # rounds whose marker is on its way to the lane (by marker)
        self._persistent = False
        self._gate: AckGate | None = None
        self._sync_topic = ""
        self._collecting: _Sync | None = None
        self._syncs: dict[str, _Sync] = {}
        self._sync_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()  # sync rounds on their way
        self._handling: set[asyncio.Future[Any]] = set()  # async handlers of lane messages
        #: bulk copies whose acknowledgement waited for the lane's copy (observability)
        self.withheld = 0

    @property
    def topics(self) -> list[str]:
        return list(self._claims)

    def owns(self, topic: str) -> bool:
        """Whether the bulk connection must skip this topic (the lane delivers it)."""
        claim = self._claim_of(topic)
        return claim is not None and claim.bulk_done

    def _claim_of(self, topic: str) -> _Claim | None:
        claim = self._claims.get(topic)
        if claim is not None or not self._patterns:
            return claim
        if topic in self._matched:
            return self._matched[topic]
        if len(self._matched) >= _MATCH_CACHE:
            self._matched.clear()
        found = next((c for p, c in self._patterns.items() if matches(p, topic)), None)
        self._matched[topic] = found
        return found

    async def open(
        self, bulk: MqttConnection, settings: BrokerSettings, *, ack_gate: AckGate | None = None
    ) -> None:
        """Connect the lane (``ack_gate``: as the bulk connection's, for persistent sessions)."""
        self._bulk = bulk
        self._marker_topic = f"dhome/lane/{settings.client_id or bulk.client_id}"
        self._persistent = bulk.settings.session_expiry > 0
        self._gate = ack_gate
        conn = MqttConnection(settings, logger=self._log)
        if ack_gate is not None:
            conn.set_ack_gate(ack_gate)
        self._conn = await self._stack.enter_async_context(conn)
        # closed before the connections: the bulk's skipped copies are settled first
        self._stack.callback(self._settle_by_bulk)
        self._stack.callback(await bulk.subscribe(self._marker_topic, self._on_bulk_marker))
        self._stack.callback(await self._conn.subscribe(self._marker_topic, self._on_lane_marker))
        if self._persistent:
            self._sync_topic = f"{self._marker_topic}/sync"
            self._stack.callback(await self._conn.subscribe(self._sync_topic, self._on_sync))
        self._stack.callback(self._conn.on_connection_change(self._on_lane_connection))
        # the bulk connection's reads give way to safety work in flight (adapters.sdk.giveway):
        # the safety messages come on the lane's connection, which never does
        bulk.gives_way = True
        self._stack.callback(setattr, bulk, "gives_way", False)
        # and its turns read the lane's socket between chunks, so a safety message does not
        # wait for the rest of a bulk turn (GIVE_WAY.serve_lanes)
        self._stack.callback(GIVE_WAY.add_lane(self._conn))

    async def close(self) -> None:
        if self._reclaim is not None:
            self._reclaim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reclaim
        await self._stack.aclose()
        for task in [*self._tasks, *self._handling]:
            task.cancel()
        self._claims.clear()
        self._patterns.clear()
        self._matched.clear()

    async def claim(self, filters: Iterable[str]) -> None:
        """Hand these topics (exact, or ``+``/``#`` filters) over to the lane, together;
        those already claimed are left as they are."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("safety lane not open")
        new = [f for f in dict.fromkeys(filters) if f not in self._claims and f not in self._patterns]
        if not new:
            return
        # unique to this lane object: a persistent session may replay an earlier run's marker
        marker = f"{self._token}-{next(self._markers)}"
        claim = _Claim(marker)
        self._by_marker[marker] = claim
        for f in new:
            if "+" in f or "#" in f:
                self._patterns[f] = claim
                self._matched.clear()
            else:
                self._claims[f] = claim
            if f not in self._subscribed:  # after a lost lane: still subscribed, by the connection
                self._subscribed.add(f)
                self._stack.callback(await conn.subscribe(f, self._on_lane))
        # the broker now sends these to both connections; the marker says from where on
        await conn.publish(self._marker_topic, marker.encode(), qos=1)

    # ------------------------------------------------------------------ the bulk handler

    def bulk(self, callback: MessageCallback) -> MessageCallback:
        """``callback`` for the bulk connection: what the lane owns is skipped; with a
        persistent session the skipped copy is acknowledged only once the lane's is durable."""

        def unless_on_the_lane(msg: MqttMessage) -> Awaitable[None] | None:
            if msg.retain or not self._lane_has(msg):
                return callback(msg)
            if not self._persistent or msg.qos == 0:
                return None
            return self._skip(msg, callback)

        return unless_on_the_lane

    def _lane_has(self, msg: MqttMessage) -> bool:
        """Whether the lane got its own copy of this bulk message: its topic is claimed and it
        reached the bulk connection after the claim's marker. Not decided by when the handler
        runs: a resumed session's backlog (sent at connect, before the lane existed) waits for
        its handler and may be handed to it after the marker; the lane never had a copy."""
        claim = self._claim_of(msg.topic)
        return claim is not None and claim.bulk_done and msg.arrival > claim.bulk_from

    def _skip(self, msg: MqttMessage, callback: MessageCallback) -> Awaitable[None]:
        sync = self._collecting
        if sync is None:
            sync = self._collecting = _Sync(asyncio.get_running_loop().create_future())
            self._spawn(self._publish_sync(sync))
        skipped = _Skipped(msg, callback)
        sync.skipped.append(skipped)
        self.withheld += 1
        return _settled(sync, skipped)

    async def _publish_sync(self, sync: _Sync) -> None:
        """Publish the marker of ``sync`` (after every skip it covers: from here on skips join
        the next round)."""
        if self._collecting is sync:
            self._collecting = None
        conn = self._conn
        marker = f"{self._token}-s{next(self._sync_ids)}"
        self._syncs[marker] = sync
        try:
            if conn is None:
                raise MqttClosed("safety lane not open")
            await conn.publish(self._sync_topic, marker.encode(), qos=1)
        except MqttError as exc:
            if self._syncs.pop(marker, None) is sync:
                self._log.warning("safety lane: sync not sent (%s); the main connection handles those", exc)
                self._by_bulk(sync)

    def _on_sync(self, msg: MqttMessage) -> None:
        sync = self._syncs.pop(msg.payload.decode(errors="replace"), None)
        if sync is not None:  # else an earlier run's, replayed by the persistent session
            self._spawn(self._confirm(sync))

    async def _confirm(self, sync: _Sync) -> None:
        """The lane has its copy of every message ``sync`` covers: once what they caused is
        durable, the bulk connection may acknowledge its copies."""
        if self._handling:  # what the lane delivered before the marker, handled to the end
            await asyncio.gather(*self._handling, return_exceptions=True)
        if self._gate is not None:
            try:
                await self._gate()
            except Exception:
                self._log.exception("safety lane: acknowledgement gate failed")
                self._by_bulk(sync)
                return
        if not sync.done.done():
            sync.done.set_result(None)

    def _by_bulk(self, sync: _Sync) -> None:
        """The lane will not confirm ``sync``: the bulk connection handles its copies itself."""
        if sync.done.done():
            return
        for skipped in sync.skipped:
            try:
                skipped.result = skipped.callback(skipped.msg)
            except Exception:
                self._log.exception("handler for %s failed", skipped.msg.topic)
        sync.done.set_result(None)

    def _settle_by_bulk(self) -> None:
        """The lane is lost or closing: every round not confirmed goes to the bulk connection,
        oldest first, before it reads anything more."""
        rounds = list(self._syncs.values())
        if self._collecting is not None:
            rounds.append(self._collecting)
        self._syncs.clear()
        self._collecting = None
        for sync in rounds:
            self._by_bulk(sync)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="safety-lane")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ the two sides

    def _on_lane(self, msg: MqttMessage) -> Awaitable[None] | None:
        if msg.retain:
            # a replay for a (re)subscription: the bulk connection's own replay is handled
            # there, whenever it re-subscribes (after a lost broker, maybe after the marker)
            return None
        claim = self._claim_of(msg.topic)
        if claim is None or not claim.lane_ready:
            return None  # published before the hand-over: the bulk connection has it
        if not claim.bulk_done:
            if len(claim.held) >= HELD_MAX:
                self.dropped += 1
                self._log.error(
                    "safety lane: more than %d messages held; dropped one of %s", HELD_MAX, msg.topic
                )
                return None
            claim.held.append(msg)
            return None
        return self._handle(msg)

    def _handle(self, msg: MqttMessage) -> Awaitable[None] | None:
        result = self._deliver(msg)
        if result is None:
            return None
        task = asyncio.ensure_future(result)  # a sync round waits for it (_confirm)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        return task

    def _on_lane_marker(self, msg: MqttMessage) -> None:
        claim = self._by_marker.get(msg.payload.decode(errors="replace"))
        if claim is not None:
            claim.lane_ready = True
            self._settle(claim)

    def _on_bulk_marker(self, msg: MqttMessage) -> None:
        claim = self._by_marker.get(msg.payload.decode(errors="replace"))
        if claim is not None:
            claim.bulk_done = True
            claim.bulk_from = msg.arrival
            self._settle(claim)

    def _settle(self, claim: _Claim) -> None:
        if not (claim.lane_ready and claim.bulk_done) or claim.marker is None:
            return
        self._by_marker.pop(claim.marker, None)
        claim.marker = None
        held, claim.held = claim.held, []
        for msg in held:
            self._handle(msg)

    def _on_lane_connection(self, up: bool) -> None:
        if self._bulk is not None:
            # while the lane is down the bulk connection carries the safety topics itself
            self._bulk.gives_way = up
        if up:
            return
        self._settle_by_bulk()
        # lost: the bulk connection takes every topic back now, and hands them over again
        # once the lane is back (its subscriptions are restored by the connection itself)
        topics = [*self._claims, *self._patterns]
        self._claims.clear()
        self._patterns.clear()
        self._matched.clear()
        self._by_marker.clear()
        if topics and self._conn is not None and not self._conn.closed:
            self._reclaim = asyncio.get_running_loop().create_task(self._claim_when_up(topics))

    async def _claim_when_up(self, topics: list[str]) -> None:
        assert self._conn is not None
        await self._conn.wait_connected()
        await self.claim(topics)


async def _settled(sync: _Sync, skipped: _Skipped) -> None:
    """What the bulk connection's acknowledgement of a skipped copy waits for."""
    await sync.done
    if skipped.result is not None:
        await skipped.result
