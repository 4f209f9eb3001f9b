"""``dhome adapters check zigbee2mqtt FILE``: map a recorded ``bridge/devices`` array offline."""

from __future__ import annotations

from typing import Any

from adapters.sdk.report import DeviceMapping
from adapters.zigbee2mqtt.exposes import parse_devices
from adapters.zigbee2mqtt.mapping import VENDOR, map_device
from dhi.catalog import Catalog, default_catalog


def map_offline(data: Any, catalog: Catalog | None = None, adapter: str = VENDOR) -> list[DeviceMapping]:
    """One ``DeviceMapping`` per device of a ``bridge/devices`` payload (the coordinator and
    entries that are not devices are skipped; an invalid entry is reported as unmapped).

    Also accepts ``{"devices": [...]}`` — what some tools save — and the JSON text itself.
    """
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    catalog = catalog or default_catalog()
    devices, errors = parse_devices(data)
    out = [
        map_device(d, catalog, adapter).report()
        for d in devices
        if not d.is_coordinator and d.definition is not None
    ]
    for i, err in enumerate(errors):
        out.append(
            DeviceMapping.unreadable(
                f"{adapter}:invalid-{i}", f"invalid entry {i}", "device", err, counted=False
            )
        )
    return out
