from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import AdapterEntry, HubConfig
from hub.core import Hub
from hub.registry import DeviceRecord
from hub.supervisor import Backoff
from tests.hub.toys import LampAdapter, lamp

HubFactory = Callable[..., Hub]


@pytest.fixture
def make_hub(tmp_path: Path) -> HubFactory:
    def make(adapters: list[dict[str, Any]] | None = None, **kwargs: Any) -> Hub:
        cfg = HubConfig(adapters=[AdapterEntry(**a) for a in (adapters or [])])
        kwargs.setdefault("data_dir", tmp_path / "data")
        kwargs.setdefault("adapter_classes", {"toy": LampAdapter})
        kwargs.setdefault("backoff", Backoff(initial=0.05, maximum=0.2, stable_after=5))
        return Hub(cfg, **kwargs)

    return make


@pytest.fixture
async def toy_hub(make_hub: HubFactory) -> AsyncIterator[Hub]:
    hub = make_hub([{"type": "toy", "name": "toy", "config": {"devices": 2, "period": 0.01}}])
    async with hub:
        await hub.supervisor.wait_running("toy")
        yield hub


@pytest.fixture
def toy_hub_sync(tmp_path: Path) -> Hub:
    """A hub (not started) whose registry holds the toy lamps, for synchronous validation tests."""
    hub = Hub(HubConfig(), data_dir=tmp_path / "sync")
    now = hub.clock.now()
    for n in range(2):
        desc = lamp("toy", n)
        hub.registry._devices[desc.id] = DeviceRecord(desc, "toy", True, now, now)
    return hub
