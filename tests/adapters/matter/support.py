"""Shared helpers of the Matter adapter tests: fixture nodes and a recording context."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.catalog import Catalog, default_catalog
from hub.models import DeviceDescription

NODES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "matter" / "nodes"


def node_files() -> list[Path]:
    files = sorted(NODES.glob("*.json"))
    assert files, f"no Matter fixture nodes in {NODES}"
    return files


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((NODES / name).read_text())
    return data


@dataclass
class RecordingContext:
    """Implements the ``AdapterContext`` protocol and records what the adapter publishes.

    Used where a unit test drives the adapter directly; the live tests use a real ``Hub``."""

    adapter: str = "matter"
    home: str = "home"
    catalog: Catalog = field(default_factory=default_catalog)
    data_dir: Path = Path()
    devices: dict[str, DeviceDescription] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    states: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, str, str, str, dict[str, Any]]] = field(default_factory=list)
    availability: list[tuple[str, bool, str | None]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger("tests.matter")

    def now(self) -> datetime:
        return datetime(2025, 1, 1, tzinfo=UTC)

    def publish_device(self, description: DeviceDescription) -> bool:
        self.devices[description.id] = description
        return True

    def remove_device(self, device_id: str) -> bool:
        self.removed.append(device_id)
        return self.devices.pop(device_id, None) is not None

    def publish_state(
        self,
        device_id: str,
        capability: str,
        properties: dict[str, Any],
        *,
        component: str = "main",
        time: Any = None,
    ) -> bool:
        self.states.append((device_id, component, capability, dict(properties)))
        return True

    def publish_event(
        self,
        device_id: str,
        capability: str,
        event: str,
        payload: dict[str, Any] | None = None,
        *,
        component: str = "main",
        time: Any = None,
    ) -> bool:
        self.events.append((device_id, component, capability, event, dict(payload or {})))
        return True

    def set_available(self, device_id: str, available: bool, reason: str | None = None) -> bool:
        self.availability.append((device_id, available, reason))
        return True

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        self.invalid.append(reason)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    def latest(self, device: str, component: str, capability: str) -> dict[str, Any]:
        """The merged state the adapter reported for one capability instance."""
        out: dict[str, Any] = {}
        for dev, comp, cap, props in self.states:
            if (dev, comp, cap) == (device, component, capability):
                out.update(props)
        return out
