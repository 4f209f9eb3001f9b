"""The device registry: every device the hub knows, its description and availability."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import orjson

from dhi.catalog import Catalog
from dhi.checks import check_description
from dhi.errors import InvalidDocument
from dhi.models import DeviceDescription
from dhi.models.envelope import (
    DeviceAddedMessage,
    DeviceAvailabilityData,
    DeviceAvailabilityMessage,
    DeviceData,
    DeviceRemovedData,
    DeviceRemovedMessage,
    DeviceUpdatedMessage,
    source_for,
)
from hub.bus import EventBus
from hub.clock import Clock
from hub.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class DeviceRecord:
    description: DeviceDescription
    adapter: str
    available: bool
    added: datetime
    updated: datetime

    @property
    def id(self) -> str:
        return self.description.id


class Registry:
    def __init__(self, storage: Storage, bus: EventBus, catalog: Catalog, clock: Clock, home: str) -> None:
        self._storage = storage
        self._bus = bus
        self._catalog = catalog
        self._clock = clock
        self._home = home
        self._devices: dict[str, DeviceRecord] = {}

    async def load(self) -> None:
        rows = await self._storage.fetchall(
            "SELECT description, adapter, available, added, updated FROM devices"
        )
        for desc_json, adapter, available, added, updated in rows:
            desc = DeviceDescription.model_validate_json(desc_json)
            self._devices[desc.id] = DeviceRecord(
                desc, adapter, bool(available), datetime.fromisoformat(added), datetime.fromisoformat(updated)
            )
        log.info("registry: %d devices loaded", len(self._devices))

    def get(self, device_id: str) -> DeviceRecord | None:
        return self._devices.get(device_id)

    def all(self) -> list[DeviceRecord]:
        return sorted(self._devices.values(), key=lambda r: r.id)

    def of_adapter(self, adapter: str) -> list[DeviceRecord]:
        return [r for r in self._devices.values() if r.adapter == adapter]

    def __len__(self) -> int:
        return len(self._devices)

    def upsert(self, desc: DeviceDescription, adapter: str) -> DeviceRecord:
        """Add or update a device (validated against the catalog); emits added/updated."""
        check_description(desc, self._catalog)
        now = self._clock.now()
        rec = self._devices.get(desc.id)
        if rec is not None and rec.adapter != adapter:
            raise InvalidDocument(
                f"device {desc.id!r} belongs to adapter {rec.adapter!r}, not {adapter!r}", field="id"
            )
        if rec is not None and rec.description == desc:
            return rec
        if rec is None:
            rec = DeviceRecord(desc, adapter, True, now, now)
            self._devices[desc.id] = rec
            msg: DeviceAddedMessage | DeviceUpdatedMessage = DeviceAddedMessage(
                source=source_for(self._home, desc.id),
                subject=desc.id,
                time=now,
                data=DeviceData(device=desc),
            )
        else:
            rec.description = desc
            rec.updated = now
            msg = DeviceUpdatedMessage(
                source=source_for(self._home, desc.id),
                subject=desc.id,
                time=now,
                data=DeviceData(device=desc),
            )
        self._persist(rec)
        self._bus.publish(msg)
        return rec

    def remove(self, device_id: str) -> bool:
        rec = self._devices.pop(device_id, None)
        if rec is None:
            return False
        self._storage.write("DELETE FROM devices WHERE id = ?", (device_id,))
        self._storage.write("DELETE FROM state WHERE device = ?", (device_id,))
        self._bus.publish(
            DeviceRemovedMessage(
                source=source_for(self._home, device_id),
                subject=device_id,
                time=self._clock.now(),
                data=DeviceRemovedData(device=device_id),
            )
        )
        return True

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool:
        rec = self._devices.get(device_id)
        if rec is None:
            return False
        if rec.available == available:
            return True
        rec.available = available
        self._storage.write("UPDATE devices SET available = ? WHERE id = ?", (int(available), device_id))
        self._bus.publish(
            DeviceAvailabilityMessage(
                source=source_for(self._home, device_id),
                subject=device_id,
                time=time or self._clock.now(),
                data=DeviceAvailabilityData(device=device_id, available=available, reason=reason),
            )
        )
        return True

    def _persist(self, rec: DeviceRecord) -> None:
        self._storage.write(
            "INSERT INTO devices (id, adapter, description, available, added, updated) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET adapter=excluded.adapter, description=excluded.description, "
            "available=excluded.available, updated=excluded.updated",
            (
                rec.id,
                rec.adapter,
                orjson.dumps(rec.description.to_json()).decode(),
                int(rec.available),
                rec.added.isoformat(),
                rec.updated.isoformat(),
            ),
        )
