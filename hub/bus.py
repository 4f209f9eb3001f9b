"""The event bus: every message fans out to subscribers through bounded queues.

Publishing is synchronous and never waits: a subscriber whose queue is full either loses
its oldest message (counted) or is closed with a reason, so a slow consumer can never slow
ingestion. (WebSocket clients are not bus subscribers: ``hub.api.fanout`` serves them from one
tap, whatever their number.)

State changes travel as ``StateChange`` records; a subscriber or tap gets the pydantic
envelope unless it asks for records (``raw=True``: the hub's own hot-path consumers, which
read a few fields and so never pay for building the envelope).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dhi.models.envelope import MessageType, as_envelope

log = logging.getLogger(__name__)

#: Anything with ``type``, ``subject`` and ``data`` (a pydantic envelope).
Envelope = Any


class Overflow(StrEnum):
    DROP_OLDEST = "drop_oldest"
    CLOSE = "close"


@dataclass(frozen=True)
class Filter:
    types: frozenset[str] | None = None
    devices: frozenset[str] | None = None
    capabilities: frozenset[str] | None = None
    #: ``state.changed`` messages only of these (capability, property); others are not narrowed
    #: (the alert engine: a change no rule reads never enters its queue)
    state_properties: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(
        cls,
        types: Iterable[str] | None = None,
        devices: Iterable[str] | None = None,
        capabilities: Iterable[str] | None = None,
        state_properties: Iterable[tuple[str, str]] | None = None,
    ) -> Filter:
        def fz(v: Iterable[str] | None) -> frozenset[str] | None:
            return frozenset(v) if v else None

        props = frozenset(state_properties) if state_properties is not None else None
        return cls(fz(types), fz(devices), fz(capabilities), props)

    def matches(self, msg: Envelope) -> bool:
        if self.types is not None and msg.type not in self.types:
            return False
        if self.devices is not None and msg.subject not in self.devices:
            return False
        if self.capabilities is not None:
            cap = getattr(msg.data, "capability", None)
            if cap not in self.capabilities:
                return False
        if self.state_properties is not None and msg.type == MessageType.STATE_CHANGED:
            data = msg.data
            if (data.capability, data.property) not in self.state_properties:
                return False
        return True


@dataclass
class Subscription:
    name: str
    filter: Filter
    maxsize: int
    overflow: Overflow
    raw: bool = False
    #: the safety lane: messages it says are priority wait in a queue of their own, taken
    #: before any other, never coalesced, and dropped (counted) only if nothing else is left
    lane: Callable[[Envelope], bool] | None = None
    _queue: deque[Any] = field(default_factory=deque)
    _first: deque[Any] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0
    delivered: int = 0
    #: the most messages ever waiting at once (``depth``'s high-water mark)
    peak: int = 0
    closed_reason: str | None = None
    _unsubscribe: Callable[[Subscription], None] | None = None

    @property
    def depth(self) -> int:
        return len(self._queue) + len(self._first)

    @property
    def priority_depth(self) -> int:
        """Messages waiting in the safety lane of this queue."""
        return len(self._first)

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    @property
    def bound(self) -> str:
        """The queue bound in words, for drop reasons and logs."""
        return f"more than {self.maxsize} messages not consumed"

    def offer(self, msg: Envelope) -> None:
        if self.closed:
            return
        if self.lane is not None and self.lane(msg):
            self._offer_first(msg)
            return
        self._enqueue(msg)

    def _offer_first(self, msg: Envelope) -> None:
        if self.depth >= self.maxsize:
            self.dropped += 1
            if self._queue:
                self._queue.popleft()  # bulk makes room for safety
            else:
                self._first.popleft()
        self._first.append(msg)
        self.peak = max(self.peak, self.depth)
        self._ready.set()

    def _enqueue(self, msg: Envelope) -> None:
        if not self._queue and self._first and self.depth >= self.maxsize:
            self.dropped += 1  # the queue is full of safety messages: this one gives way
            return
        if self._queue and self.depth >= self.maxsize:
            self.dropped += 1
            if self.overflow is Overflow.CLOSE:
                self.close(f"queue overflow: {self.bound}")
                return
            self._queue.popleft()
        self._queue.append(msg)
        self.peak = max(self.peak, self.depth)
        self._ready.set()

    def close(self, reason: str = "closed") -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._ready.set()
            if self._unsubscribe is not None:
                self._unsubscribe(self)

    async def get(self) -> Envelope:
        """Next message; raises ``ConnectionResetError`` (with the reason) once closed and drained."""
        while not self._queue and not self._first:
            if self.closed:
                raise SubscriptionClosed(self.closed_reason or "closed")
            self._ready.clear()
            await self._ready.wait()
        self.delivered += 1
        if self._first:
            return self._first.popleft()
        return self._queue.popleft()

    def get_nowait(self) -> Envelope | None:
        if self._first:
            self.delivered += 1
            return self._first.popleft()
        if not self._queue:
            return None
        self.delivered += 1
        return self._queue.popleft()

    # an iterator class, not an async generator: mypyc (tools/compiled) compiles no async generators
    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Envelope:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None


class SubscriptionClosed(Exception):
    pass


class EventBus:
    def __init__(self, *, start_seq: int = 0, drill: bool = False) -> None:
        #: a drill hub's bus marks every message it carries as an exercise (DHI 1.1 ``drill``)
        self.drill = drill
        self._subs: list[Subscription] = []
        self._seq = start_seq
        self.published = 0
        # (per message, raw, per batch or None)
        self._taps: list[tuple[Callable[[Envelope], None], bool, Callable[[list[Any]], None] | None]] = []

    @property
    def seq(self) -> int:
        return self._seq

    def resume_from(self, seq: int) -> None:
        """Continue the sequence after a restart so ``since=`` cursors stay valid."""
        self._seq = max(self._seq, seq)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def subscribe(
        self,
        name: str,
        filter: Filter | None = None,
        *,
        maxsize: int = 10_000,
        overflow: Overflow = Overflow.DROP_OLDEST,
        raw: bool = False,
        lane: Callable[[Envelope], bool] | None = None,
    ) -> Subscription:
        sub = Subscription(name, filter or Filter(), maxsize, overflow, raw, lane=lane)
        sub._unsubscribe = self._remove
        self._subs.append(sub)
        return sub

    def tap(
        self,
        fn: Callable[[Envelope], None],
        *,
        raw: bool = False,
        many: Callable[[list[Any]], None] | None = None,
    ) -> Callable[[], None]:
        """A synchronous observer run inline on publish (must be O(1) and never raise).
        ``many`` (raw taps only) takes the messages of one ``publish_many`` at once, in order."""
        entry = (fn, raw, many if raw else None)
        self._taps.append(entry)
        return lambda: self._taps.remove(entry)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, msg: Envelope) -> None:
        if msg.seq is None:
            msg.seq = self.next_seq()
        if self.drill:
            msg.drill = True
        self.published += 1
        for fn, raw, _ in self._taps:
            try:
                fn(msg if raw else as_envelope(msg))
            except Exception:
                log.exception("bus tap failed")
        for sub in list(self._subs):
            if sub.filter.matches(msg):
                sub.offer(msg if sub.raw else as_envelope(msg))

    def publish_many(self, msgs: list[Envelope]) -> None:
        """``publish`` each of ``msgs`` (one ingestion batch), in order: the same sequence
        numbers, the same messages to every tap and subscriber; a tap that takes batches
        gets one call for all of them."""
        drill = self.drill
        for msg in msgs:
            if msg.seq is None:
                self._seq += 1
                msg.seq = self._seq
            if drill:
                msg.drill = True
        self.published += len(msgs)
        for fn, raw, many in self._taps:
            if many is not None:
                try:
                    many(msgs)
                except Exception:
                    log.exception("bus tap failed")
                continue
            for msg in msgs:
                try:
                    fn(msg if raw else as_envelope(msg))
                except Exception:
                    log.exception("bus tap failed")
        for sub in list(self._subs):
            matches, raw = sub.filter.matches, sub.raw
            for msg in msgs:
                if matches(msg):
                    sub.offer(msg if raw else as_envelope(msg))

    def subscribers(self) -> list[Subscription]:
        return list(self._subs)


ALL_TYPES = frozenset(t.value for t in MessageType)
