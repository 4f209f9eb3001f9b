"""``RecordingContext``: the test double of ``AdapterContext`` (``adapters/sdk/adapter.py``) for
unit and fuzz tests that drive an adapter directly; integration tests use a real ``Hub``.

It records what the adapter publishes and checks every report the way ``HubAdapterContext``
does, with the one checker of ``dhi.checks`` the hub uses: a device id must start with ``<adapter>:`` and its
description pass ``check_description``; a state, event or availability report must name a
published device and pass ``check_state_report`` / ``check_event_report``; removing a device
that was never published is refused. A refused report is kept in ``rejected`` (and ``False``
returned), so a test sees what the hub would have refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from adapters.sdk.adapter import publish_each
from dhi.catalog import Catalog, default_catalog
from dhi.checks import check_description, check_device_id, check_event_report, check_state_report
from dhi.errors import HubError
from dhi.models import DeviceDescription


class StateReport(NamedTuple):
    device: str
    component: str
    capability: str
    properties: dict[str, Any]


class EventReport(NamedTuple):
    device: str
    component: str
    capability: str
    event: str
    payload: dict[str, Any]


class Availability(NamedTuple):
    device: str
    available: bool
    reason: str | None


class Invalid(NamedTuple):
    """A vendor message the adapter counted through ``report_invalid``."""

    reason: str
    source: str | None
    payload: Any


@dataclass
class RecordingContext:
    adapter: str
    home: str = "home"
    catalog: Catalog = field(default_factory=default_catalog)
    data_dir: Path = Path("/nonexistent")
    devices: dict[str, DeviceDescription] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    states: list[StateReport] = field(default_factory=list)
    events: list[EventReport] = field(default_factory=list)
    available: dict[str, bool] = field(default_factory=dict)  # current, True once published
    availability: list[Availability] = field(default_factory=list)  # every accepted set_available
    invalid: list[Invalid] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # what the hub would have refused
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"dhome.adapter.{self.adapter}")

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max((when - self.now()).total_seconds(), 0))

    # ---------------------------------------------------------------- publishing

    def publish_device(self, description: DeviceDescription) -> bool:
        try:
            check_device_id(description.id, self.adapter)
            check_description(description, self.catalog)
        except HubError as exc:
            self.rejected.append(f"device {description.id}: {exc.message}")
            return False
        self.devices[description.id] = description
        self.available.setdefault(description.id, True)
        return True

    def remove_device(self, device_id: str) -> bool:
        if self.devices.pop(device_id, None) is None:
            self.rejected.append(f"remove_device: unknown device {device_id!r}")
            return False
        self.available.pop(device_id, None)
        self.removed.append(device_id)
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
        desc = self.devices.get(device_id)
        if desc is None:
            self.rejected.append(f"state for unknown device {device_id!r}")
            return False
        try:
            check_state_report(desc, component, capability, properties, self.catalog)
        except HubError as exc:
            self.rejected.append(f"state of {device_id} {component}/{capability}: {exc.message}")
            return False
        self.states.append(StateReport(device_id, component, capability, dict(properties)))
        return True

    def publish_states(
        self, reports: list[tuple[str, str, str, dict[str, Any]]], *, time: datetime | None = None
    ) -> int:
        return publish_each(self, reports, time=time)

    async def settled(self) -> None:
        """Everything is handled as it is published here: nothing to wait for."""

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
        desc = self.devices.get(device_id)
        if desc is None:
            self.rejected.append(f"event for unknown device {device_id!r}")
            return False
        try:
            check_event_report(desc, component, capability, event, payload or {}, catalog=self.catalog)
        except HubError as exc:
            self.rejected.append(f"event of {device_id} {component}/{capability}.{event}: {exc.message}")
            return False
        self.events.append(EventReport(device_id, component, capability, event, dict(payload or {})))
        return True

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool:
        if device_id not in self.devices:
            self.rejected.append(f"availability for unknown device {device_id!r}")
            return False
        self.available[device_id] = available
        self.availability.append(Availability(device_id, available, reason))
        return True

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        self.invalid.append(Invalid(reason, source, payload))

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.adapter}:{name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---------------------------------------------------------------- queries

    def state_of(self, device_id: str, capability: str, component: str = "main") -> dict[str, Any]:
        """The merged properties reported for one capability instance."""
        out: dict[str, Any] = {}
        for report in self.states:
            if (report.device, report.component, report.capability) == (device_id, component, capability):
                out.update(report.properties)
        return out

    def value(self, device_id: str, capability: str, prop: str, component: str = "main") -> Any:
        """The latest value reported for one property (``None`` if never reported)."""
        return self.state_of(device_id, capability, component).get(prop)

    def availability_of(self, device_id: str) -> tuple[bool, str | None] | None:
        """``(available, reason)`` of the latest accepted ``set_available`` for the device."""
        for record in reversed(self.availability):
            if record.device == device_id:
                return record.available, record.reason
        return None
