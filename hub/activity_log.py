"""Logs what happens in the home, one readable line per message (``dhome run`` console)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dhi.models.envelope import MessageType, as_envelope
from hub.bus import Subscription

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger("dhome.activity")


def describe(hub: Hub, msg: Any) -> str:
    data = msg.data
    rec = hub.registry.get(msg.subject) if msg.subject else None
    who = rec.description.name if rec else (msg.subject or "hub")
    room = f" [{rec.description.room}]" if rec and rec.description.room else ""
    match msg.type:
        case MessageType.STATE_CHANGED:
            return f"{who}{room}: {data.capability.removeprefix('dhi.')}.{data.property} = {data.value!r}"
        case MessageType.EVENT_OCCURRED:
            return (
                f"{who}{room}: event {data.capability.removeprefix('dhi.')}.{data.event} {data.payload or ''}"
            )
        case MessageType.DEVICE_AVAILABILITY:
            return f"{who}{room}: {'online' if data.available else 'OFFLINE'}" + (
                f" ({data.reason})" if data.reason else ""
            )
        case MessageType.DEVICE_ADDED:
            return f"device added: {who}{room} ({msg.subject})"
        case MessageType.COMMAND_RESULT:
            r = data.result
            return f"command {r.id} on {who}: {r.status}" + (f" — {r.error.message}" if r.error else "")
        case _:
            alert = getattr(data, "alert", None)
            if alert is not None:
                return f"ALERT {alert.kind} {alert.state} ({alert.severity}) {alert.summary or ''}".rstrip()
            return f"{msg.type} {msg.subject or ''}"


class LineBudget:
    """A token bucket for console lines: a person reads a few lines a second; a home of a
    thousand sensors reports thousands of changes a second. Lines over the budget are
    counted (and summarised), never formatted: formatting them would cost ingestion time."""

    def __init__(
        self,
        rate: float = 20.0,
        burst: int = 100,
        clock: Callable[[], float] = time.monotonic,
        summary_every: float = 10.0,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.summary_every = summary_every
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._next_summary = self._last + summary_every
        self.suppressed = 0

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.suppressed += 1
        return False

    def take_suppressed(self) -> int:
        n, self.suppressed = self.suppressed, 0
        return n

    def summary_due(self) -> int:
        """How many lines were suppressed since the last summary, once ``summary_every``
        seconds have passed since it (0 otherwise: nothing to say yet)."""
        now = self._clock()
        if not self.suppressed or now < self._next_summary:
            return 0
        self._next_summary = now + self.summary_every
        return self.take_suppressed()


#: Always shown, whatever the budget: what a resident or installer must not miss.
_ALWAYS = frozenset(
    {
        MessageType.DEVICE_AVAILABILITY,
        MessageType.DEVICE_ADDED,
        MessageType.DEVICE_REMOVED,
        MessageType.ALERT_RAISED,
        MessageType.ALERT_UPDATED,
        MessageType.ALERT_CLEARED,
    }
)


class ActivityLog:
    name = "activity-log"

    def __init__(self, budget: LineBudget | None = None) -> None:
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None
        self.budget = budget or LineBudget()

    async def start(self, hub: Hub) -> None:
        if not log.isEnabledFor(logging.INFO):
            return  # nothing would be printed: don't pay for a subscriber on the hot path
        self._sub = hub.bus.subscribe("activity-log", maxsize=5000, raw=True)
        self._task = asyncio.create_task(self._run(hub, self._sub), name="dhome-activity-log")

    async def _run(self, hub: Hub, sub: Subscription) -> None:
        budget = self.budget
        async for msg in sub:
            if msg.type in _ALWAYS or budget.take():
                log.info("%s", describe(hub, as_envelope(msg)))
            if budget.suppressed and (hidden := budget.summary_due()):
                log.info("… %d more messages not shown (busy home; see /api/v1/events)", hidden)

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
