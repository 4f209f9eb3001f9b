"""Helpers for the virtual adapter tests: a real in-process hub with a temp data dir."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from adapters.virtual import VirtualAdapter
from hub.bus import Filter, Subscription
from hub.clock import Clock
from hub.config import AdapterEntry, HubConfig
from hub.core import Hub

INSTANCE = "virtual"


@contextlib.asynccontextmanager
async def running_hub(
    data_dir: Path, config: dict[str, Any] | None = None, *, clock: Clock | None = None
) -> AsyncIterator[tuple[Hub, VirtualAdapter]]:
    cfg = HubConfig(adapters=[AdapterEntry(type="virtual", config=config or {})])
    hub = Hub(cfg, data_dir=data_dir, clock=clock, adapter_classes={"virtual": VirtualAdapter})
    async with hub:
        await hub.supervisor.wait_running(INSTANCE)
        adapter = hub.supervisor.slots[INSTANCE].instance
        assert isinstance(adapter, VirtualAdapter)
        yield hub, adapter


def drain(sub: Subscription) -> list[Any]:
    out = []
    while (msg := sub.get_nowait()) is not None:
        out.append(msg)
    return out


def state_filter(device: str) -> Filter:
    return Filter.of(types=["org.dhi.v1.state.changed", "org.dhi.v1.event.occurred"], devices=[device])


def value_of(hub: Hub, device: str, capability: str, prop: str, component: str = "main") -> Any:
    sv = hub.state.get(device, component, capability, prop)
    assert sv is not None, f"no state for {device} {component}/{capability}.{prop}"
    return sv.value
