"""Live messages to WebSocket clients at a cost that does not grow with messages times clients.

Each distinct filter has one ``Feed``: a bounded log of the messages it matches, each encoded
once when it is published (one bus tap: per message, work for each *feed*, none per client).
A client's subscription is a ``Reader``: a position in its feed's log, nothing more.

A tick (at most every ``tick`` seconds, and only while there is something to send) serves the
readers: whatever lies between a reader's position and the log's head goes out in one socket
write, as ``events`` frames of up to ``batch_max`` messages (or one ``event`` frame per message
for a client that did not ask for batches). The bytes of a write are built once per
(subscription id, mode, from, to) and tick, so clients at the same position share them. A
reader whose socket has not taken what it was given is skipped until it has ("writable").

What a reader has pending is ``head - position`` messages, as old as the entry at its
position. Past its bound (messages or seconds) it is dropped at the tick, at once and without
being sent its backlog. A coalescing reader (dashboards) is never "behind": it gets the latest
value of each property since its position plus every message that is never coalesced (alerts,
availability, ...); those are kept apart, and only if more of them than the bound are pending
is it dropped.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from dhi.models.envelope import wire_json
from hub.api import wsframe
from hub.bus import EventBus, Filter

STATE_CHANGED = "org.dhi.v1.state.changed"

Key = Hashable


def property_key(msg: Any) -> tuple[str, str, str, str] | None:
    """What a coalescing subscription keeps one value of: a property of a device. Alerts,
    availability and every other message are never coalesced (``None``)."""
    if msg.type != STATE_CHANGED:
        return None
    d = msg.data
    return (msg.subject, d.component, d.capability, d.property)


class Sink(Protocol):
    """Where a reader's bytes go: the client's socket."""

    @property
    def deflate(self) -> int:
        """The negotiated ``permessage-deflate`` window (bits), 0 for plain frames."""
        ...

    def writable(self) -> bool:
        """It has taken what it was given (its send buffer is below the limit)."""
        ...

    def write(self, data: bytes) -> None: ...


#: called once when a reader is dropped: (reason, metric label)
Overflowed = Callable[[str, str], None]


@dataclass(eq=False)
class Reader:
    """One subscription of one client: where it is in its feed, and how it is served."""

    subscription: str
    sink: Sink
    batch: bool
    #: seconds between sends of a coalescing reader (``None``: every change)
    interval: float | None
    bound: int
    max_age: float
    send_timeout: float
    on_overflow: Overflowed
    #: absolute index in the feed's log of the next message to send
    position: int = 0
    next_send: float = 0.0
    #: since when (and since which head of the log) the socket has not been writable while
    #: something was pending
    blocked_since: float | None = None
    blocked_at: int = 0
    feed: Feed | None = None

    def __post_init__(self) -> None:
        self.sub_json = wsframe.subscription_id(self.subscription)

    @property
    def coalescing(self) -> bool:
        return self.interval is not None

    def overflow_reason(self) -> str:
        return (
            f"subscription {self.subscription}: queue overflow: "
            f"more than {self.bound} messages or {self.max_age:g} s not consumed"
        )


class Feed:
    """The messages one filter matches, encoded, in a log shared by its readers."""

    def __init__(self, flt: Filter, capacity: int, complete_after: int) -> None:
        self.filter = flt
        self.capacity = capacity
        #: every matching message with a greater seq is in the log (older ones were trimmed)
        self.complete_after = complete_after
        self._data: list[bytes] = []
        self._seqs: list[int] = []
        self._times: list[float] = []
        self._keys: list[Key | None] = []
        #: absolute index of ``_data[0]``
        self.base = 0
        self.readers: list[Reader] = []
        #: the head when the readers were last served
        self.served = 0
        #: subscriptions holding the feed (live readers and replays about to become one)
        self.users = 0
        # for coalescing readers whose position has left the log: the latest entry of each
        # property, and the messages that are never coalesced (a bounded log of their own)
        self._latest: dict[Key, tuple[int, bytes]] = {}
        self._kept: deque[tuple[int, bytes]] = deque(maxlen=capacity)
        self._kept_from = 0

    def __repr__(self) -> str:
        return f"Feed({self.filter}, {len(self.readers)} readers, head={self.head})"

    @property
    def head(self) -> int:
        return self.base + len(self._data)

    def append(self, seq: int, data: bytes, key: Key | None, now: float) -> None:
        i = self.head
        self._data.append(data)
        self._seqs.append(seq)
        self._times.append(now)
        self._keys.append(key)
        if key is None:
            if len(self._kept) == self.capacity:
                self._kept_from = self._kept[0][0] + 1
            self._kept.append((i, data))
        else:
            self._latest[key] = (i, data)
        if len(self._data) > 2 * self.capacity:  # trimmed in halves: amortised O(1)
            cut = len(self._data) - self.capacity
            self.complete_after = max(self.complete_after, self._seqs[cut - 1])
            for column in (self._data, self._seqs, self._times, self._keys):
                del column[:cut]
            self.base += cut

    def index_after(self, seq: int) -> int:
        """The position of the first message with a greater seq (valid once ``complete_after <= seq``)."""
        return self.base + bisect.bisect_right(self._seqs, seq)

    def lag(self, reader: Reader) -> int:
        return 0 if reader.coalescing else self.head - reader.position

    def _lost(self, r: Reader) -> str | None:
        """Why ``r`` can no longer be served: what it has not had has left the log."""
        if r.coalescing:
            if r.position < self._kept_from:
                return (
                    f"subscription {r.subscription}: queue overflow: more than {self.capacity} alerts, "
                    "availability changes and other messages not consumed"
                )
        elif r.position < self.base:
            return (
                f"subscription {r.subscription}: queue overflow: more than {self.capacity} messages "
                "pending, more than the hub keeps for its filter"
            )
        return None

    def _behind(self, r: Reader, head: int, now: float) -> bool:
        """Whether ``r``, whose socket has been full since ``blocked_at``, is past its bound:
        more than ``bound`` messages arrived since, or its oldest pending one is older than
        ``max_age``. What piled up while the hub itself was slow to serve (a stalled loop)
        does not count against a client whose socket took everything it was given."""
        if r.coalescing:
            return False  # it is sent the latest values whenever its socket takes them
        return head - r.blocked_at > r.bound or now - self._times[r.position - self.base] > r.max_age

    def _messages(self, r: Reader, start: int, end: int) -> list[bytes]:
        if not r.coalescing:
            return self._data[start - self.base : end - self.base]
        if start >= self.base:
            # the newest entry of each property in the range, and every entry without a key
            seen: set[Key] = set()
            picked: list[bytes] = []
            for i in range(end - 1 - self.base, start - 1 - self.base, -1):
                key = self._keys[i]
                if key is None:
                    picked.append(self._data[i])
                elif key not in seen:
                    seen.add(key)
                    picked.append(self._data[i])
            picked.reverse()
            return picked
        # its position has left the log: the latest of every property changed since, and the
        # kept messages (``_behind`` made sure none of those it has not had were lost)
        entries = [e for e in self._latest.values() if e[0] >= start]
        entries += [e for e in self._kept if e[0] >= start]
        entries.sort(key=lambda e: e[0])
        return [data for _, data in entries]

    def serve(self, now: float, batch_max: int) -> tuple[int, int, bool]:
        """Write what each reader has pending, if its socket can take it; drop those past
        their bound. Returns (messages written, messages of dropped readers thrown away,
        whether some reader still has something pending)."""
        head = self.served = self.head
        built: dict[tuple[bytes, bool, bool, int, int, int], tuple[bytes, int]] = {}
        sent = lost = 0
        pending = False
        for r in list(self.readers):
            if r.position >= head:
                r.blocked_since = None
                continue
            reason = self._lost(r)
            if reason is not None:
                lost += self._drop(r, reason, "overflow")
                continue
            if r.coalescing and now < r.next_send:
                pending = True
                continue
            while r.position < head:
                if not r.sink.writable():
                    # a reader whose socket takes everything keeps up, however much arrived
                    # since the last round; one whose socket stays full is held to its bound
                    if r.blocked_since is None:
                        r.blocked_since, r.blocked_at = now, head
                        pending = True
                    elif self._behind(r, head, now):
                        lost += self._drop(r, r.overflow_reason(), "overflow")
                    elif now - r.blocked_since > r.send_timeout:
                        reason = f"too slow: nothing was accepted within {r.send_timeout:g} s"
                        lost += self._drop(r, reason, "send_timeout")
                    else:
                        pending = True
                    break
                r.blocked_since = None
                start = r.position
                end = head if r.coalescing else min(head, start + batch_max)
                deflate = r.sink.deflate
                key = (r.sub_json, r.batch, r.coalescing, start, end, deflate)
                hit = built.get(key)
                if hit is None:
                    msgs = self._messages(r, start, end)
                    data = wsframe.frames(r.sub_json, msgs, r.batch, batch_max, deflate)
                    hit = built[key] = (data, len(msgs))
                r.position = end
                if hit[1]:
                    r.sink.write(hit[0])
                    sent += hit[1]
            if r.coalescing and r.interval is not None:
                r.next_send = now + r.interval
        return sent, lost, pending

    def _drop(self, r: Reader, reason: str, label: str) -> int:
        """Stop serving ``r`` and tell its owner why; returns the messages it had pending."""
        pending = self.lag(r)
        self.detach(r)
        r.on_overflow(reason, label)
        return pending

    def detach(self, reader: Reader) -> None:
        if reader.feed is self:
            self.readers.remove(reader)
            reader.feed = None


class FanOut:
    """The feeds of one API server, fed by a bus tap, served by one tick."""

    def __init__(
        self,
        bus: EventBus,
        *,
        capacity: int,
        tick: float,
        batch_max: int,
        on_sent: Callable[[int], None],
        on_lost: Callable[[int], None],
    ) -> None:
        self._bus = bus
        self._capacity = capacity
        self._tick = tick
        self._batch_max = batch_max
        self._on_sent = on_sent
        self._on_lost = on_lost
        self._feeds: dict[Filter, Feed] = {}
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.Handle | None = None
        self._soon = False
        self._hurry = max(1, capacity // 2)
        self._last_tick = 0.0
        self._untap = bus.tap(self._publish, raw=True)

    def close(self) -> None:
        self._untap()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._feeds.clear()

    @property
    def feeds(self) -> list[Feed]:
        return list(self._feeds.values())

    def acquire(self, flt: Filter) -> Feed:
        """The feed of ``flt`` (made now if no one holds it: it then has every message from now on)."""
        feed = self._feeds.get(flt)
        if feed is None:
            feed = self._feeds[flt] = Feed(flt, self._capacity, self._bus.seq)
        feed.users += 1
        return feed

    def release(self, feed: Feed) -> None:
        feed.users -= 1
        if feed.users <= 0 and self._feeds.get(feed.filter) is feed:
            del self._feeds[feed.filter]

    def attach(self, feed: Feed, reader: Reader, position: int) -> None:
        """``reader`` goes live at ``position`` (a feed it holds)."""
        reader.position = position
        reader.feed = feed
        feed.readers.append(reader)
        if position < feed.head:
            self._schedule(time.monotonic())

    def detach(self, reader: Reader) -> None:
        """The subscription ended (unsubscribed, or its connection closed)."""
        if reader.feed is not None:
            reader.feed.detach(reader)

    def depth(self) -> int:
        """Messages pending over all readers (the ``ws`` queue depth)."""
        return sum(feed.lag(r) for feed in self._feeds.values() for r in feed.readers)

    # ------------------------------------------------------------ the hot path
    def _publish(self, msg: Any) -> None:
        if not self._feeds:
            return
        data: bytes | None = None
        key: Key | None = None
        now = 0.0
        hurry = False
        for feed in self._feeds.values():
            if feed.filter.matches(msg):
                if data is None:
                    data = wire_json(msg).encode()
                    key = property_key(msg)
                    now = time.monotonic()
                feed.append(msg.seq, data, key, now)
                hurry = hurry or feed.head - feed.served >= self._hurry
        if data is None:
            return
        if hurry and not self._soon and self._handle is not None:
            # half a bound arrived since the last round: serve now, before readers that keep
            # up lose what they have not had to the log's trimming
            self._handle.cancel()
            self._handle = None
        self._schedule(now, hurry)

    def _schedule(self, now: float, hurry: bool = False) -> None:
        if self._handle is not None:
            return
        delay = 0.0 if hurry else self._last_tick + self._tick - now
        self._soon = delay <= 0
        self._handle = (
            self._loop.call_soon(self._run) if self._soon else self._loop.call_later(delay, self._run)
        )

    def _run(self) -> None:
        self._handle = None
        now = self._last_tick = time.monotonic()
        pending = False
        for feed in list(self._feeds.values()):
            sent, lost, more = feed.serve(now, self._batch_max)
            if sent:
                self._on_sent(sent)
            if lost:
                self._on_lost(lost)
            pending = pending or more
        if pending:
            self._schedule(now)
