"""Safety first on the event loop: while the hub has safety work in flight, bulk readers give
way (docs/ingestion.md, decision 63).

One event loop carries both a flood of telemetry and a smoke alarm's way through the hub: the
safety lane's read, the alert engine, the alert's commit (an answer from the SQLite thread),
the outbox's read of its entry, the webhook's response and the uplink's PUBACK. Each of those
steps waits for one loop turn, and under a burst every turn also carries a slice of bulk
telemetry — on a loaded 2-core machine ~50 ms of wall clock each. So a bulk MQTT connection
beside a safety lane asks ``GIVE_WAY.urgent()`` before each slice; while it is true, the
connection stops reading for a moment (``HOLD`` seconds at most, then one slice, then it may
hold again): the messages wait at the broker and in the socket, where a backlog belongs.

What counts as safety work in flight is said by *sources* registered by the hub (the alert
engine: a priority message queued or being handled; the outbox: a fresh entry being delivered).
They are predicates over state the sources keep anyway, asked only once per slice, so nothing
can be left "held" by a missed release. The storage's telemetry thread asks too, before each
chunk it commits (``hub.storage``): a source must be safe to call from another thread (read
attributes and lengths; iterate only over a copy of a container the loop changes). Process-wide: one hub per process (a test running two
hubs in one process only slows the other's bulk reads for a moment).
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Protocol

#: the longest a bulk reader waits for safety work before it reads one slice anyway (seconds)
HOLD = 0.25
#: the longest one turn of bulk work runs on the event loop — an MQTT connection's read slice,
#: a batch of the alert engine (seconds of wall clock). A smoke alarm's first step, the lane's
#: read, comes before anything is "in flight" to give way to: it waits for the turn in
#: progress, ~2 such slices, which on a loaded 2-core machine take 3-4 times their length
SLICE = 0.002
#: how often a held reader looks again whether the safety work is done (seconds)
POLL = 0.002

Source = Callable[[], bool]


class Lane(Protocol):
    """A safety lane's connection, as a bulk turn sees it (``GiveWay.serve_lanes``)."""

    def fileno(self) -> int | None: ...

    def read_now(self) -> None: ...


class GiveWay:
    def __init__(self) -> None:
        self._sources: list[Source] = []
        self._lanes: list[Lane] = []
        #: lane reads done from inside a bulk turn (observability)
        self.lane_reads = 0
        #: times a bulk reader held back for safety work (observability)
        self.holds = 0

    def add_source(self, source: Source) -> Callable[[], None]:
        """``source()`` says whether safety work is in flight; returns its removal."""
        return _registered(self._sources, source)

    def add_lane(self, lane: Lane) -> Callable[[], None]:
        """A lane's connection whose socket bulk turns poll between chunks; returns its removal."""
        return _registered(self._lanes, lane)

    def serve_lanes(self) -> bool:
        """Read, right now, every lane whose socket has bytes waiting; whether one had. Called
        between two chunks of a bulk turn: otherwise a smoke alarm that reaches the lane's
        socket waits for the rest of the turn in progress and every callback queued before
        the selector's next look — under a burst most of its time in the hub. One
        ``select`` with a zero timeout per chunk (microseconds against a chunk's packets).
        On the loop's thread only."""
        if not self._lanes:
            return False
        readers: dict[int, Lane] = {}
        for lane in self._lanes:
            fd = lane.fileno()
            if fd is not None:
                readers[fd] = lane
        if not readers:
            return False
        try:
            ready, _, _ = select.select(list(readers), [], [], 0)
        except (OSError, ValueError):  # closed meanwhile: the selector will say so
            return False
        for fd in ready:
            self.lane_reads += 1
            readers[fd].read_now()
        return bool(ready)

    def urgent(self) -> bool:
        # a copy: the telemetry thread asks while the loop may add or remove a source
        return any(source() for source in tuple(self._sources))


def _registered[T](items: list[T], item: T) -> Callable[[], None]:
    items.append(item)

    def remove() -> None:
        if item in items:
            items.remove(item)

    return remove


GIVE_WAY = GiveWay()
