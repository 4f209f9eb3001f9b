"""The adapter supervisor: runs every configured adapter, restarts the ones that crash.

One adapter failing never touches another: each runs in its own task of a TaskGroup and
catches its own crashes. While an adapter is down its devices are unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from dhi.models import CommandRequest, CommandResult
from hub.context import HubAdapterContext

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)


class SlotState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclass
class Backoff:
    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    #: a run this long (seconds) counts as healthy and resets the delay
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** max(0, failures - 1))
        return base * random.uniform(0.8, 1.2)


@dataclass
class AdapterSlot:
    name: str
    cls: type[Any]
    config: BaseModel
    state: SlotState = SlotState.STOPPED
    instance: Any = None
    restarts: int = 0
    failures: int = 0
    last_error: str | None = None
    ctx: HubAdapterContext | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": getattr(self.cls, "name", self.cls.__name__),
            "state": self.state.value,
            "restarts": self.restarts,
            "last_error": self.last_error,
        }


class Supervisor:
    def __init__(self, hub: Hub, backoff: Backoff | None = None, stop_timeout: float = 5.0) -> None:
        self._hub = hub
        self._backoff = backoff or Backoff()
        self._stop_timeout = stop_timeout
        self.slots: dict[str, AdapterSlot] = {}

    def add(self, name: str, cls: type[Any], config: BaseModel) -> AdapterSlot:
        if name in self.slots:
            raise ValueError(f"adapter instance {name!r} configured twice")
        slot = AdapterSlot(name, cls, config)
        self.slots[name] = slot
        return slot

    def target(self, name: str) -> Any:
        slot = self.slots.get(name)
        if slot is None or slot.state is not SlotState.RUNNING:
            return None
        return slot.instance

    async def run(self) -> None:
        """Run all adapters until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for slot in self.slots.values():
                tg.create_task(self._supervise(slot), name=f"supervise:{slot.name}")

    async def wait_running(self, name: str, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            await self.slots[name]._ready.wait()

    async def _supervise(self, slot: AdapterSlot) -> None:
        metrics = self._hub.metrics
        while True:
            slot.state = SlotState.STARTING
            ctx = HubAdapterContext(self._hub, slot.name)
            slot.ctx = ctx
            started = asyncio.get_running_loop().time()
            try:
                slot.instance = slot.cls(slot.config)
                await slot.instance.start(ctx)
                slot.state = SlotState.RUNNING
                metrics.adapter_up.labels(slot.name).set(1)
                slot._ready.set()
                log.info("adapter %s running", slot.name)
                await ctx.wait_crash()
                raise RuntimeError("adapter stopped unexpectedly")
            except asyncio.CancelledError:
                await self._stop(slot, ctx)
                slot.state = SlotState.STOPPED
                metrics.adapter_up.labels(slot.name).set(0)
                raise
            except Exception as exc:
                slot._ready.clear()
                metrics.adapter_up.labels(slot.name).set(0)
                slot.last_error = f"{type(exc).__name__}: {exc}"
                log.error("adapter %s crashed: %s", slot.name, slot.last_error, exc_info=exc)
                await self._stop(slot, ctx)
                for rec in self._hub.registry.of_adapter(slot.name):
                    self._hub.registry.set_available(rec.id, False, f"adapter {slot.name} crashed")
                ran = asyncio.get_running_loop().time() - started
                slot.failures = 1 if ran >= self._backoff.stable_after else slot.failures + 1
                slot.restarts += 1
                metrics.adapter_restarts.labels(slot.name).inc()
                slot.state = SlotState.BACKOFF
                delay = self._backoff.delay(slot.failures)
                log.warning("adapter %s restarts in %.1f s (restart #%d)", slot.name, delay, slot.restarts)
                await asyncio.sleep(delay)

    async def _stop(self, slot: AdapterSlot, ctx: HubAdapterContext) -> None:
        try:
            if slot.instance is not None:
                async with asyncio.timeout(self._stop_timeout):
                    await slot.instance.stop()
        except Exception as exc:
            log.warning("adapter %s: stop() failed: %s", slot.name, exc)
        finally:
            await ctx.cancel_tasks()

    async def execute(self, adapter: str, cmd: CommandRequest) -> CommandResult | None:
        target = self.target(adapter)
        if target is None:
            return None
        result: CommandResult = await target.execute(cmd)
        return result
