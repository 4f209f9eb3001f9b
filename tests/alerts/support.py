"""An in-process hub with the alert services and a hand-driven home, for alert/consent tests.

Devices are published through the hub's real ``HubAdapterContext`` (adapter name ``test``),
so every reading goes through the same validation and bus as an adapter's. The clock is a
``ManualClock``: tests move hub time with ``advance()`` and then run the engine's timers —
no test waits on the wall clock for a rule to fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dhi.models import CapabilityInstance, Component, DeviceDescription
from dhi.models.subscription import Transport
from hub.alerts.engine import AlertEngine
from hub.clock import Clock
from hub.config import HomeConfig, HubConfig
from hub.consent import ConsentService
from hub.context import HubAdapterContext
from hub.core import Hub
from hub.delivery import Bridge
from hub.outbox import Outbox

ADAPTER = "test"
START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


class ManualClock(Clock):
    """Hub time that only moves when a test says so."""

    def __init__(self, start: datetime = START) -> None:
        super().__init__(start=start, speed=1.0)
        self.t = start

    def now(self) -> datetime:
        return self.t

    def advance(self, delta: timedelta) -> datetime:
        self.t += delta
        return self.t


def device(native: str, room: str | None, *caps: str | tuple[str, list[str]]) -> DeviceDescription:
    instances = [
        CapabilityInstance(id=c) if isinstance(c, str) else CapabilityInstance(id=c[0], properties=c[1])
        for c in caps
    ]
    return DeviceDescription(
        id=f"{ADAPTER}:{native}",
        name=native,
        room=room,
        components=[Component(id="main", capabilities=instances)],
    )


SMOKE = device(
    "kitchen-smoke", "kitchen", ("dhi.smoke_alarm", ["smoke"]), ("dhi.battery", ["percentage", "low"])
)
SMOKE2 = device("kitchen-smoke-2", "kitchen", ("dhi.smoke_alarm", ["smoke"]))
GAS = device("kitchen-gas", "kitchen", "dhi.gas_leak")
MOTION = device("living-motion", "living_room", ("dhi.motion", ["motion"]))
DOOR = device("entrance-door", "hallway", "dhi.contact")
SOS = device("sos-button", "bedroom", "dhi.sos")
FALL = device("bathroom-radar", "bathroom", "dhi.fall_detection", ("dhi.presence", ["presence"]))


class TestHome:
    """The hub plus a way to act as its devices."""

    __test__ = False  # not a pytest class

    def __init__(self, hub: Hub, clock: ManualClock, ctx: HubAdapterContext) -> None:
        self.hub = hub
        self.clock = clock
        self.ctx = ctx

    @property
    def engine(self) -> AlertEngine:
        assert isinstance(self.hub.alerts, AlertEngine)
        return self.hub.alerts

    @property
    def consent(self) -> ConsentService:
        assert isinstance(self.hub.subscriptions, ConsentService)
        return self.hub.subscriptions

    def add(self, *descs: DeviceDescription) -> None:
        for d in descs:
            assert self.ctx.publish_device(d)

    def set(self, desc: DeviceDescription, capability: str, **props: Any) -> None:
        assert self.ctx.publish_state(desc.id, capability, props), (desc.id, capability, props)

    def event(self, desc: DeviceDescription, capability: str, event: str, **payload: Any) -> None:
        assert self.ctx.publish_event(desc.id, capability, event, payload)

    async def settle(self) -> None:
        """Let the engine consume everything published so far, and commit it.

        Waits (in real time, bounded) until the engine's queue is empty and it holds no lock:
        under load its SQLite writes take real time, so a fixed number of loop turns is not enough.
        """

        def idle() -> bool:
            sub = self.engine._sub
            return (sub is None or sub.depth == 0) and not self.engine._lock.locked()

        async with asyncio.timeout(10):
            while True:
                if idle():
                    await asyncio.sleep(0.005)
                    if idle():
                        break
                await asyncio.sleep(0.001)
        await self.hub.storage.flush()

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.settle()
        async with self.engine._lock:
            await self.engine.evaluate_timers()
        await self.hub.storage.flush()

    def open_alerts(self) -> list[Any]:
        return [a for a in self.engine.list_alerts() if a.state != "cleared"]


@asynccontextmanager
async def running_home(
    data_dir: Path,
    *,
    alerts: dict[str, Any] | None = None,
    home: dict[str, Any] | None = None,
    clock: ManualClock | None = None,
    bridges: dict[Transport, Bridge] | None = None,
    extra: Callable[[Hub], None] | None = None,
    drill: bool = False,
) -> AsyncIterator[TestHome]:
    clock = clock or ManualClock()
    cfg = HubConfig(home=HomeConfig(**(home or {"id": "flat-12"})), alerts=alerts or {}, drill=drill)
    hub = Hub(cfg, data_dir=data_dir, clock=clock)
    consent = ConsentService()
    hub.add_service(consent)
    hub.add_service(Outbox(consent, bridges=bridges) if bridges is not None else Outbox(consent))
    hub.add_service(AlertEngine())
    if extra is not None:
        extra(hub)
    async with hub:
        ctx = HubAdapterContext(hub, ADAPTER)
        yield TestHome(hub, clock, ctx)
