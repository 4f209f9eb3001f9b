"""The safety lane at the hub: which readings are handled ahead of bulk telemetry and never
coalesced (docs/ingestion.md).

* every reading of a priority device (``dhi.priority``: a safety or care capability from
  the catalog), its events and availability;
* a reading a threshold rule watches once it is near the limit (a room at 55 °C while the
  heat rule alerts at 57 with 5 of hysteresis): the rule registers its lower bound here, so
  an ordinary thermometer's readings stay bulk until one of them could start a heat alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dhi.models import DeviceDescription
from dhi.models.catalog import CapabilityDef
from dhi.priority import is_priority_device, priority_capabilities


class Lanes:
    def __init__(self, catalog: Mapping[str, CapabilityDef]) -> None:
        self._capabilities = priority_capabilities(catalog)
        # device -> (the description it was judged from, priority)
        self._devices: dict[str, tuple[DeviceDescription, bool]] = {}
        # (capability, property) -> readings at or above this are priority
        self._near: dict[tuple[str, str], float] = {}

    def device(self, device_id: str, description: DeviceDescription) -> bool:
        """Whether every message of this device is priority (cached per description)."""
        cached = self._devices.get(device_id)
        if cached is not None and cached[0] is description:
            return cached[1]
        priority = is_priority_device(description, self._capabilities)
        self._devices[device_id] = (description, priority)
        return priority

    def forget(self, device_id: str) -> None:
        self._devices.pop(device_id, None)

    def watch(self, capability: str, prop: str, at_least: float | None) -> None:
        """Readings of ``capability.prop`` at or above ``at_least`` are priority (``None``: none)."""
        if at_least is None:
            self._near.pop((capability, prop), None)
        else:
            self._near[(capability, prop)] = at_least

    def reading(self, capability: str, prop: str, value: Any) -> bool:
        """Whether one reading of a bulk device is priority (near a watched threshold)."""
        bound = self._near.get((capability, prop))
        return (
            bound is not None
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= bound
        )
