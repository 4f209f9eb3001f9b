"""``RecordingContext``: a test double of ``AdapterContext`` that records what an adapter
publishes and checks it the way the hub does (catalog, device registry), so unit and fuzz
tests see refusals. Integration tests use the real in-process ``Hub`` instead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.catalog import Catalog, default_catalog
from hub.context import check_event_report, check_state_report
from hub.errors import HubError
from hub.models import DeviceDescription
from hub.registry import check_description


@dataclass
class Invalid:
    reason: str
    source: str | None
    payload: Any


@dataclass
class RecordingContext:
    adapter: str = "test"
    home: str = "home"
    catalog: Catalog = field(default_factory=default_catalog)
    data_dir: Path = Path("/nonexistent")
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("dhome.test.adapter"))
    devices: dict[str, DeviceDescription] = field(default_factory=dict)
    states: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, str, str, str, dict[str, Any]]] = field(default_factory=list)
    available: dict[str, bool] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what the hub itself would have refused
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max((when - self.now()).total_seconds(), 0))

    def _note(self) -> None:
        self.changed.set()

    def publish_device(self, description: DeviceDescription) -> bool:
        try:
            if not description.id.startswith(f"{self.adapter}:"):
                raise HubError(f"device id {description.id!r} must start with {self.adapter}:")
            check_description(description, self.catalog)
        except HubError as exc:
            self.refused.append(f"device {description.id}: {exc.message}")
            return False
        self.devices[description.id] = description
        self.available.setdefault(description.id, True)
        self._note()
        return True

    def remove_device(self, device_id: str) -> bool:
        self.removed.append(device_id)
        self._note()
        return self.devices.pop(device_id, None) is not None

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
        try:
            if desc is None:
                raise HubError(f"unknown device {device_id}")
            check_state_report(desc, component, capability, properties, self.catalog)
        except HubError as exc:
            self.refused.append(f"state {device_id} {component}/{capability}: {exc.message}")
            return False
        self.states.append((device_id, component, capability, dict(properties)))
        self._note()
        return True

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
        try:
            if desc is None:
                raise HubError(f"unknown device {device_id}")
            check_event_report(desc, component, capability, event, payload or {}, catalog=self.catalog)
        except HubError as exc:
            self.refused.append(f"event {device_id} {component}/{capability}.{event}: {exc.message}")
            return False
        self.events.append((device_id, component, capability, event, dict(payload or {})))
        self._note()
        return True

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool:
        if device_id not in self.devices:
            self.refused.append(f"availability of unknown device {device_id}")
            return False
        self.available[device_id] = available
        self._note()
        return True

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        self.invalid.append(Invalid(reason, source, payload))
        self._note()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---------------------------------------------------------------- test helpers

    def state_of(self, device_id: str, capability: str, component: str = "main") -> dict[str, Any]:
        """The merged latest properties reported for one capability instance."""
        out: dict[str, Any] = {}
        for dev, comp, cap, props in self.states:
            if (dev, comp, cap) == (device_id, component, capability):
                out.update(props)
        return out

    async def wait_until(self, predicate: Any, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
