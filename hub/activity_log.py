"""Logs what happens in the home, one readable line per message (``dhome run`` console)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub.bus import Subscription
from hub.models.envelope import MessageType

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


class ActivityLog:
    name = "activity-log"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None

    async def start(self, hub: Hub) -> None:
        if not log.isEnabledFor(logging.INFO):
            return  # nothing would be printed: don't pay for a subscriber on the hot path
        self._sub = hub.bus.subscribe("activity-log", maxsize=5000)
        self._task = asyncio.create_task(self._run(hub, self._sub), name="dhome-activity-log")

    async def _run(self, hub: Hub, sub: Subscription) -> None:
        async for msg in sub:
            log.info("%s", describe(hub, msg))

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
