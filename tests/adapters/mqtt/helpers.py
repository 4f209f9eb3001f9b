"""Helpers shared by the MQTT adapters' tests: an in-process hub and polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hub.config import HubConfig
from hub.core import Hub
from hub.supervisor import Backoff


async def eventually(predicate: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value (fails the test after ``timeout``)."""
    try:
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                await asyncio.sleep(0.02)
            return value
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def broker_config(url: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.5, **extra}


@asynccontextmanager
async def running_hub(
    tmp_path: Path, adapter_type: str, cls: type[Any], config: dict[str, Any], home: str = "home"
) -> AsyncIterator[Hub]:
    """A real in-process hub (SQLite in ``tmp_path``) running one adapter instance."""
    cfg = HubConfig.model_validate(
        {"home": {"id": home}, "adapters": [{"type": adapter_type, "config": config}], "command_timeout": 10}
    )
    hub = Hub(
        cfg,
        data_dir=tmp_path / "hub",
        adapter_classes={adapter_type: cls},
        backoff=Backoff(initial=0.05, maximum=0.5),
    )
    async with hub:
        await hub.supervisor.wait_running(adapter_type)
        yield hub


def state_value(hub: Hub, device: str, component: str, capability: str, prop: str) -> Any:
    """The hub's latest value of one property (None when never reported)."""
    v = hub.state.get(device, component, capability, prop)
    return v.value if v is not None else None


def invalid_count(hub: Hub, instance: str) -> int:
    slot = hub.supervisor.slots[instance]
    return slot.ctx.invalid_count if slot.ctx is not None else 0


def availability_log(hub: Hub, device: str) -> list[bool]:
    """Every availability change of ``device`` from now on, in order (a bus tap sees each
    one, where polling could miss a short outage)."""
    log: list[bool] = []

    def tap(msg: Any) -> None:
        if str(msg.type).endswith("device.availability") and msg.subject == device:
            log.append(bool(msg.data.available))

    hub.bus.tap(tap)
    return log
