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

If the lane connection is lost, every topic goes back to the bulk connection at once and is
handed over again once the lane is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack

from adapters.sdk.mqtt.connection import AckGate, MqttConnection, MqttMessage
from adapters.sdk.mqtt.settings import BrokerSettings
from adapters.sdk.mqtt.topics import matches

#: lane messages held while the bulk connection finishes a topic's backlog, at most
HELD_MAX = 10_000
_MATCH_CACHE = 10_000  # topics whose wildcard claim is remembered

Deliver = Callable[[MqttMessage], None]


class _Claim:
    """The hand-over state of the topics claimed together (``marker`` None: the lane owns them)."""

    __slots__ = ("bulk_done", "held", "lane_ready", "marker")

    def __init__(self, marker: str) -> None:
        self.marker: str | None = marker
        self.lane_ready = False  # the lane saw the marker: its copies from here on are new
        self.bulk_done = False  # bulk saw the marker: it has handled everything before
        self.held: list[MqttMessage] = []


def lane_allowed(bulk: BrokerSettings) -> bool:
    """The lane runs beside a clean session only. With a persistent one the bulk connection
    acknowledges the copies it skips; a hub killed before the lane's copy is committed would
    lose a message the broker no longer holds for anyone (an SOS press, in the kill -9 test).
    At-least-once delivery comes before the lane's latency (decision 55)."""
    return bulk.session_expiry == 0


def lane_settings(bulk: BrokerSettings, client_id: str) -> BrokerSettings:
    """The lane's connection: the bulk one's broker and session kind, its own client id."""
    return bulk.model_copy(update={"client_id": f"{client_id[:120]}-lane"})


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
        conn = MqttConnection(settings, logger=self._log)
        if ack_gate is not None:
            conn.set_ack_gate(ack_gate)
        self._conn = await self._stack.enter_async_context(conn)
        self._stack.callback(await bulk.subscribe(self._marker_topic, self._on_bulk_marker))
        self._stack.callback(await self._conn.subscribe(self._marker_topic, self._on_lane_marker))
        self._stack.callback(self._conn.on_connection_change(self._on_lane_connection))
        # the bulk connection's reads give way to safety work in flight (adapters.sdk.giveway):
        # the safety messages come on the lane's connection, which never does
        bulk.gives_way = True
        self._stack.callback(setattr, bulk, "gives_way", False)

    async def close(self) -> None:
        if self._reclaim is not None:
            self._reclaim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reclaim
        await self._stack.aclose()
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

    # ------------------------------------------------------------------ the two sides

    def _on_lane(self, msg: MqttMessage) -> None:
        claim = self._claim_of(msg.topic)
        if claim is None or not claim.lane_ready:
            return  # published before the hand-over: the bulk connection has it
        if not claim.bulk_done:
            if len(claim.held) >= HELD_MAX:
                self.dropped += 1
                self._log.error(
                    "safety lane: more than %d messages held; dropped one of %s", HELD_MAX, msg.topic
                )
                return
            claim.held.append(msg)
            return
        self._deliver(msg)

    def _on_lane_marker(self, msg: MqttMessage) -> None:
        claim = self._by_marker.get(msg.payload.decode(errors="replace"))
        if claim is not None:
            claim.lane_ready = True
            self._settle(claim)

    def _on_bulk_marker(self, msg: MqttMessage) -> None:
        claim = self._by_marker.get(msg.payload.decode(errors="replace"))
        if claim is not None:
            claim.bulk_done = True
            self._settle(claim)

    def _settle(self, claim: _Claim) -> None:
        if not (claim.lane_ready and claim.bulk_done) or claim.marker is None:
            return
        self._by_marker.pop(claim.marker, None)
        claim.marker = None
        held, claim.held = claim.held, []
        for msg in held:
            self._deliver(msg)

    def _on_lane_connection(self, up: bool) -> None:
        if self._bulk is not None:
            # while the lane is down the bulk connection carries the safety topics itself
            self._bulk.gives_way = up
        if up:
            return
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
