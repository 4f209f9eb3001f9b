"""Test helpers for the Zigbee2MQTT adapter.

``RecordingContext`` implements the ``AdapterContext`` protocol and records what the adapter
publishes. It checks every report the way the hub does (device known, capability and
property declared, value valid against the catalog or vendor definition and the device's
constraints), so a test fails when the adapter publishes something the hub would reject.
"""

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
from hub.context import check_event_report, check_state_report
from hub.errors import HubError
from hub.models import DeviceDescription

Z2M_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "z2m"
DEVICES_FIXTURE = Z2M_FIXTURES / "matterbridge-zigbee2mqtt_bridge-devices.json"


def load_devices() -> list[dict[str, Any]]:
    data = json.loads(DEVICES_FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@dataclass
class Report:
    kind: str
    device: str
    data: dict[str, Any] = field(default_factory=dict)


class RecordingContext:
    """A stand-in for the hub's adapter context (the hub runtime is tested elsewhere)."""

    def __init__(self, adapter: str = "zigbee2mqtt", catalog: Catalog | None = None) -> None:
        self._adapter = adapter
        self._catalog = catalog or default_catalog()
        self._logger = logging.getLogger(f"test.{adapter}")
        self.devices: dict[str, DeviceDescription] = {}
        self.removed: list[str] = []
        self.states: list[Report] = []
        self.events: list[Report] = []
        self.availability: dict[str, tuple[bool, str | None]] = {}
        self.invalid: list[tuple[str, str | None]] = []
        self.rejected: list[str] = []
        self.current: dict[tuple[str, str, str, str], Any] = {}

    # properties of the protocol
    @property
    def adapter(self) -> str:
        return self._adapter

    @property
    def home(self) -> str:
        return "test"

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def data_dir(self) -> Path:
        return Path("/nonexistent")

    def now(self) -> datetime:
        return datetime(2025, 1, 1, tzinfo=UTC)

    async def sleep_until(self, when: datetime) -> None:  # pragma: no cover - unused by the adapter
        await asyncio.sleep(max(0.0, (when - self.now()).total_seconds()))

    # publishing
    def publish_device(self, description: DeviceDescription) -> bool:
        if not description.id.startswith(self._adapter + ":"):
            self.rejected.append(f"device id {description.id}")
            return False
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
        time: datetime | None = None,
    ) -> bool:
        if device_id not in self.devices:
            self.rejected.append(f"state for unknown {device_id}")
            return False
        try:
            check_state_report(self.devices[device_id], component, capability, properties, self._catalog)
        except HubError as exc:
            self.rejected.append(f"state {device_id} {component}/{capability}: {exc}")
            return False
        self.states.append(
            Report(
                "state",
                device_id,
                {"component": component, "capability": capability, "properties": dict(properties)},
            )
        )
        for name, value in properties.items():
            self.current[(device_id, component, capability, name)] = value
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
        if device_id not in self.devices:
            self.rejected.append(f"event for unknown {device_id}")
            return False
        try:
            check_event_report(
                self.devices[device_id], component, capability, event, payload or {}, catalog=self._catalog
            )
        except HubError as exc:
            self.rejected.append(f"event {device_id} {component}/{capability}.{event}: {exc}")
            return False
        self.events.append(
            Report(
                "event",
                device_id,
                {
                    "component": component,
                    "capability": capability,
                    "event": event,
                    "payload": dict(payload or {}),
                },
            )
        )
        return True

    def set_available(self, device_id: str, available: bool, reason: str | None = None) -> bool:
        if device_id not in self.devices:
            self.rejected.append(f"availability for unknown {device_id}")
            return False
        self.availability[device_id] = (available, reason)
        return True

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        self.invalid.append((reason, source))

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:  # pragma: no cover - unused
        coro.close()
        raise AssertionError("the zigbee2mqtt adapter does not spawn tasks")

    # queries
    def value(self, device: str, capability: str, prop: str, component: str = "main") -> Any:
        return self.current.get((device, component, capability, prop))
