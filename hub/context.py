"""``HubAdapterContext``: the hub side of the adapter contract — where ingestion is validated.

Every report an adapter publishes is checked against the registry and the catalog here;
an invalid one is logged (rate-limited), counted, and refused with ``False`` — the adapter
keeps running and nothing else is affected.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.sdk.adapter import ReportedState
from dhi.catalog import Catalog
from dhi.checks import ReportableProperties, check_device_id, check_event_report, resolve_capability
from dhi.errors import HubError
from dhi.models import DeviceDescription
from dhi.models.envelope import (
    EventOccurredData,
    EventOccurredMessage,
    StateChange,
    StateChangeData,
    source_for,
)
from dhi.timefmt import isoformat
from hub.state import HistoryRows

if TYPE_CHECKING:
    from hub.core import Hub


class _RateLimitedLog:
    """At most one log line per reason every ``interval`` seconds; the counter sees all."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._log = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str) -> None:
        now = _time.monotonic()
        if len(self._last) > 10_000:  # keys may name devices: bounded memory
            self._last.clear()
            self._suppressed.clear()
        if now - self._last.get(key, -1e9) >= self._interval:
            extra = self._suppressed.pop(key, 0)
            self._log.warning("%s%s", msg, f" (+{extra} similar suppressed)" if extra else "")
            self._last[key] = now
        else:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1


#: the same, for other parts of the hub that log what outsiders send (e.g. bridges)
RateLimitedLog = _RateLimitedLog


class _DevicePlan:
    """What the reports of one device need, made once per device description: whether the
    device is in the safety lane, its messages' CloudEvents source, and the properties each
    of its capability instances may report (resolved on first use)."""

    __slots__ = ("capabilities", "description", "priority", "source")

    def __init__(self, description: DeviceDescription, priority: bool, source: str) -> None:
        self.description = description
        self.priority = priority
        self.source = source
        self.capabilities: dict[tuple[str, str], ReportableProperties] = {}

    def resolve(self, component: str, capability: str, catalog: Catalog) -> ReportableProperties:
        """Raises the precise ``HubError`` when the device has no such capability instance."""
        resolved = ReportableProperties(*resolve_capability(self.description, component, capability, catalog))
        self.capabilities[(component, capability)] = resolved
        return resolved


class HubAdapterContext:
    def __init__(self, hub: Hub, adapter: str) -> None:
        self._hub = hub
        self._adapter = adapter
        self._logger = logging.getLogger(f"dhome.adapter.{adapter}")
        self._ratelog = _RateLimitedLog(self._logger)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._crashed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.invalid_count = 0
        self._state_in = hub.metrics.messages_in.labels(adapter, "state")
        # device -> what its reports need (made from one description; a new one makes a new plan)
        self._plans: dict[str, _DevicePlan] = {}

    # ---------------------------------------------------------- properties
    @property
    def adapter(self) -> str:
        return self._adapter

    @property
    def home(self) -> str:
        return self._hub.config.home.id

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    @property
    def catalog(self) -> Catalog:
        return self._hub.catalog

    @property
    def data_dir(self) -> Path:
        path = self._hub.data_dir / "adapters" / self._adapter
        path.mkdir(parents=True, exist_ok=True)
        return path

    def now(self) -> datetime:
        return self._hub.clock.now()

    async def sleep_until(self, when: datetime) -> None:
        await self._hub.clock.sleep((when - self.now()).total_seconds())

    # ---------------------------------------------------------- publishing
    def publish_device(self, description: DeviceDescription) -> bool:
        try:
            check_device_id(description.id, self._adapter)
            self._hub.registry.upsert(description, self._adapter)
        except HubError as exc:
            self._invalid(exc.code, f"device {description.id}: {exc.message}")
            return False
        self._hub.metrics.messages_in.labels(self._adapter, "device").inc()
        return True

    def remove_device(self, device_id: str) -> bool:
        rec = self._hub.registry.get(device_id)
        if rec is None or rec.adapter != self._adapter:
            self._invalid("unknown_device", f"remove_device: unknown device {device_id!r}")
            return False
        self._hub.registry.remove(device_id)
        self._hub.state.forget(device_id)
        self._hub.lanes.forget(device_id)
        self._plans.pop(device_id, None)
        return True

    def publish_state(
        self,
        device_id: str,
        capability: str,
        properties: dict[str, Any],
        *,
        component: str = "main",
        time: datetime | None = None,
    ) -> bool:
        return self.publish_states([(device_id, component, capability, properties)], time=time) == 1

    def publish_states(self, reports: list[ReportedState], *, time: datetime | None = None) -> int:
        """One pass over a batch of reports (one MQTT read): check each against the registry
        and catalog, compare and store its values, and hand the changes to the bus as one
        batch. A refused report is counted and logged; the others go on."""
        hub = self._hub
        first = reports[0][0] if reports else ""
        when = self._when(time, first, "state")
        if when is None:
            return 0
        adapter, registry, lanes, state = self._adapter, hub.registry, hub.lanes, hub.state
        stamp = isoformat(when)  # one text for the whole batch's rows
        history = HistoryRows()
        changes: list[StateChange] = []
        accepted = 0
        for device_id, component, capability, properties in reports:
            rec = registry.get(device_id)
            if rec is None or rec.adapter != adapter:
                self._invalid("unknown_device", f"state for unknown device {device_id!r}")
                continue
            plan = self._plans.get(device_id)
            if plan is None or plan.description is not rec.description:
                plan = self._plan_of(rec.description)
            try:
                reportable = plan.capabilities.get((component, capability))
                if reportable is None:
                    reportable = plan.resolve(component, capability, hub.catalog)
                reportable.check(properties)
            except HubError as exc:
                self._invalid(exc.code, f"state of {device_id} {component}/{capability}: {exc.message}")
                continue
            accepted += 1
            device_priority = plan.priority
            for name, value in properties.items():
                priority = device_priority or lanes.reading(capability, name, value)
                key = (device_id, component, capability, name)
                changed, previous = state.set(
                    key, value, when, adapter, priority=priority, stamp=stamp, history=history
                )
                if not changed:
                    continue
                data = StateChangeData(device_id, component, capability, name, value, previous, adapter)
                changes.append(StateChange(plan.source, when, data, priority=priority))
        if accepted:
            self._state_in.inc(accepted)
        state.store_history(history)
        if changes:
            hub.bus.publish_many(changes)
        return accepted

    def _plan_of(self, desc: DeviceDescription) -> _DevicePlan:
        """What every report of this device needs, made once per description."""
        plan = _DevicePlan(
            desc, self._hub.lanes.device(desc.id, desc), source_for(self._hub.config.home.id, desc.id)
        )
        self._plans[desc.id] = plan
        return plan

    def publish_event(
        self,
        device_id: str,
        capability: str,
        event: str,
        payload: dict[str, Any] | None = None,
        *,
        component: str = "main",
        time: datetime | None = None,
    ) -> bool:
        hub = self._hub
        rec = hub.registry.get(device_id)
        if rec is None or rec.adapter != self._adapter:
            self._invalid("unknown_device", f"event for unknown device {device_id!r}")
            return False
        payload = payload or {}
        try:
            check_event_report(rec.description, component, capability, event, payload, catalog=hub.catalog)
        except HubError as exc:
            self._invalid(exc.code, f"event of {device_id} {component}/{capability}: {exc.message}")
            return False
        when = self._when(time, device_id, "event")
        if when is None:
            return False
        hub.metrics.messages_in.labels(self._adapter, "event").inc()
        hub.bus.publish(
            EventOccurredMessage(
                source=source_for(self.home, device_id),
                subject=device_id,
                time=when,
                data=EventOccurredData(
                    device=device_id, component=component, capability=capability, event=event, payload=payload
                ),
            )
        )
        return True

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool:
        rec = self._hub.registry.get(device_id)
        if rec is None or rec.adapter != self._adapter:
            self._invalid("unknown_device", f"availability for unknown device {device_id!r}")
            return False
        return self._hub.registry.set_available(
            device_id, available, reason, time=_utc(time) if time is not None else None
        )

    def _when(self, time: datetime | None, device_id: str, what: str) -> datetime | None:
        """The report's time in UTC (the hub's now when it has none); ``None`` and counted as
        invalid when it has no UTC equivalent (e.g. year 1 at +23:59)."""
        if time is None:
            return self._hub.clock.now()
        try:
            return _utc(time)
        except OverflowError:
            self._invalid(
                "invalid_params",
                f"{what} of {device_id}: time {time.isoformat()} is out of range",
                key=device_id,
            )
            return None

    async def settled(self) -> None:
        await self._hub.settled()

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        where = f" from {source}" if source else ""
        shown = repr(payload)[:200] if payload is not None else ""
        self._invalid("vendor_payload", f"invalid vendor message{where}: {reason} {shown}".rstrip())

    def _invalid(self, code: str, message: str, *, key: str = "") -> None:
        self.invalid_count += 1
        self._hub.metrics.invalid.labels(self._adapter, code).inc()
        self._ratelog.warning(f"{code}:{key}", message)

    # ---------------------------------------------------------- tasks
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=f"{self._adapter}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not self._crashed.done():
            self._crashed.set_exception(exc)

    async def wait_crash(self) -> None:
        """Return (raising) when a spawned task fails; runs until cancelled otherwise."""
        await asyncio.shield(self._crashed)

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if not self._crashed.done():
            self._crashed.cancel()
        elif not self._crashed.cancelled():
            self._crashed.exception()  # mark retrieved


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo is not None else t.replace(tzinfo=UTC)
