"""The hub side of an adapter under test: an ``AdapterContext`` that checks every report with the
one checker the hub uses (``dhi.checks``) and records it, plus a monitor of event-loop stalls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.sdk.adapter import publish_each
from dhi.catalog import Catalog
from dhi.checks import check_description, check_device_id, check_event_report, check_state_report
from dhi.errors import HubError, InvalidDocument
from dhi.models import DeviceDescription


@dataclass(frozen=True)
class StateSeen:
    device: str
    component: str
    capability: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class EventSeen:
    device: str
    component: str
    capability: str
    event: str
    payload: dict[str, Any]


class CheckingContext:
    """Implements ``adapters.sdk.AdapterContext``; ``refused`` lists every report the hub would refuse."""

    def __init__(self, adapter: str, catalog: Catalog, data_dir: Path, home: str = "home") -> None:
        self._adapter = adapter
        self._catalog = catalog
        self._data_dir = data_dir
        self._home = home
        self._logger = logging.getLogger(f"dhome.conformance.adapter.{adapter}")
        self.devices: dict[str, DeviceDescription] = {}
        self.states: list[StateSeen] = []
        self.events: list[EventSeen] = []
        self.available: dict[str, bool] = {}
        self.removed: list[str] = []
        self.refused: list[str] = []
        self.invalid: list[str] = []
        self.crashes: list[BaseException] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def adapter(self) -> str:
        return self._adapter

    @property
    def home(self) -> str:
        return self._home

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def data_dir(self) -> Path:
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return self._data_dir

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max(0.0, (when - self.now()).total_seconds()))

    def _refuse(self, what: str, exc: HubError) -> bool:
        self.refused.append(f"{what}: {exc.message}")
        return False

    def publish_device(self, description: DeviceDescription) -> bool:
        try:
            check_device_id(description.id, self._adapter)
            check_description(description, self._catalog)
        except HubError as exc:
            return self._refuse(f"device {description.id}", exc)
        self.devices[description.id] = description
        return True

    def remove_device(self, device_id: str) -> bool:
        if self.devices.pop(device_id, None) is None:
            return self._refuse("remove_device", InvalidDocument(f"unknown device {device_id!r}"))
        self.removed.append(device_id)
        return True

    def publish_state(
        self, device_id: str, capability: str, properties: dict[str, Any], *, component: str = "main",
        time: datetime | None = None,
    ) -> bool:  # fmt: skip
        desc = self.devices.get(device_id)
        what = f"state of {device_id} {component}/{capability}"
        if desc is None:
            return self._refuse(what, InvalidDocument("unknown device"))
        try:
            check_state_report(desc, component, capability, properties, self._catalog)
        except HubError as exc:
            return self._refuse(what, exc)
        self.states.append(StateSeen(device_id, component, capability, dict(properties)))
        return True

    def publish_states(
        self, reports: list[tuple[str, str, str, dict[str, Any]]], *, time: datetime | None = None
    ) -> int:
        return publish_each(self, reports, time=time)

    async def settled(self) -> None:
        """Everything is handled as it is published here: nothing to wait for."""

    def publish_event(
        self, device_id: str, capability: str, event: str, payload: dict[str, Any] | None = None, *,
        component: str = "main", time: datetime | None = None,
    ) -> bool:  # fmt: skip
        desc = self.devices.get(device_id)
        what = f"event {event} of {device_id} {component}/{capability}"
        if desc is None:
            return self._refuse(what, InvalidDocument("unknown device"))
        try:
            check_event_report(desc, component, capability, event, payload or {}, catalog=self._catalog)
        except HubError as exc:
            return self._refuse(what, exc)
        self.events.append(EventSeen(device_id, component, capability, event, dict(payload or {})))
        return True

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool:
        if device_id not in self.devices:
            return self._refuse(f"availability of {device_id}", InvalidDocument("unknown device"))
        self.available[device_id] = available
        return True

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        self.invalid.append(reason)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=f"{self._adapter}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.crashes.append(task.exception())  # type: ignore[arg-type]

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def current(self, device: str, component: str, capability: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for s in self.states:
            if (s.device, s.component, s.capability) == (device, component, capability):
                values.update(s.properties)
        return values


class LoopMonitor:
    """How long the event loop was stalled while the adapter's code ran.

    A 10 ms timer ticks only inside ``watch()`` blocks (around ``start``, ``execute`` and
    ``stop``); a tick that fires late means something held the loop. The suite's own work
    (validation, hypothesis threads) is outside the blocks and does not count.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.worst = 0.0
        self.where = ""
        self._active = 0
        self._handle: asyncio.TimerHandle | None = None
        self._label = ""

    def _tick(self, due: float) -> None:
        loop = asyncio.get_running_loop()
        lag = loop.time() - due
        if lag > self.worst:
            self.worst, self.where = lag, self._label
        self._handle = loop.call_later(self.interval, self._tick, loop.time() + self.interval)

    @contextlib.asynccontextmanager
    async def watch(self, label: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self._label = label
        if self._active == 0:
            self._handle = loop.call_later(self.interval, self._tick, loop.time() + self.interval)
        self._active += 1
        try:
            yield
        finally:
            # let a tick that became overdue while the loop was held fire and be measured
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            self._active -= 1
            if self._active == 0 and self._handle is not None:
                self._handle.cancel()
                self._handle = None
