"""``dhome simulate``: play a scenario in an in-process hub on a fast clock and report what happened.

The hub clock starts at the scenario's ``start`` and stands still until every adapter is
running, so the devices appear at the start time and each step lands exactly at its offset;
then hub time runs ``speed`` times faster than real time.

A simulation is a drill: its hub config says ``drill: true``, so every alert, message and
audit row is marked as an exercise (DHI 1.1 ``drill``; CAP status Exercise).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.virtual import Timing, VirtualAdapter
from adapters.virtual.scenario import ExpectedAlert, Scenario, load_scenario
from adapters.virtual.timing import parse_duration
from dhi.catalog import Catalog, default_catalog
from dhi.models import Alert
from dhi.models.envelope import MessageType
from hub.bus import Subscription
from hub.clock import Clock
from hub.config import AdapterEntry, HomeConfig, HubConfig
from hub.core import Hub, Service

VIRTUAL = "virtual"
#: real seconds allowed beyond the scenario's own (scaled) length before giving up
GRACE_SECONDS = 30.0


class SimulationError(Exception):
    """The simulation could not run to its end (the virtual adapter crashed or stalled)."""


class HeldClock(Clock):
    """A scaled clock that stands at ``start`` until ``release()``, then runs ``speed`` times real time."""

    def __init__(self, start: datetime, speed: float) -> None:
        super().__init__(start=start, speed=speed)
        self._origin = start
        self._released_at: float | None = None
        self._released = asyncio.Event()

    def now(self) -> datetime:
        if self._released_at is None:
            return self._origin
        return self._origin + timedelta(seconds=(time.monotonic() - self._released_at) * self.speed)

    async def sleep(self, seconds: float) -> None:
        if self._released_at is None:
            # time stands still, so ``seconds`` counts from the release
            await self._released.wait()
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def release(self) -> None:
        if self._released_at is None:
            self._released_at = time.monotonic()
            self._released.set()


@dataclass
class SimulationResult:
    scenario: Scenario
    #: every bus message in order (device.added, state.changed, event.occurred, alert.* …)
    messages: list[Any]
    #: ``{device: {component: {capability: {property: value}}}}`` at the end
    state: dict[str, dict[str, dict[str, dict[str, Any]]]]
    available: dict[str, bool]
    started: datetime
    ended: datetime
    alerts: list[Alert] = field(default_factory=list)

    def of_type(self, *types: MessageType | str) -> list[Any]:
        wanted = {str(t) for t in types}
        return [m for m in self.messages if str(m.type) in wanted]

    def missing_alerts(self) -> list[ExpectedAlert]:
        """Expected alerts that were not raised (each raised alert satisfies one expectation)."""
        unused = list(self.alerts)
        missing = []
        for exp in self.scenario.expect.alerts:
            match = next((a for a in unused if self._satisfies(a, exp)), None)
            if match is None:
                missing.append(exp)
            else:
                unused.remove(match)
        return missing

    def unexpected_alerts(self) -> list[Alert]:
        """Raised alerts of a kind the scenario does not expect at all."""
        expected = Counter(e.kind for e in self.scenario.expect.alerts)
        return [a for a in self.alerts if expected[a.kind] == 0]

    @property
    def expectations_met(self) -> bool:
        return not self.missing_alerts() and not self.unexpected_alerts()

    def _satisfies(self, alert: Alert, exp: ExpectedAlert) -> bool:
        if alert.kind != exp.kind or (exp.room is not None and alert.room != exp.room):
            return False
        if exp.device is not None and not any(
            d.endswith(":" + exp.device.split(":")[-1]) for d in alert.devices
        ):
            return False
        return exp.by is None or alert.first_seen <= self.scenario.start + parse_duration(exp.by)


def simulation_config(scenario_path: Path, config: HubConfig | None, home_name: str) -> HubConfig:
    """``config`` (or a minimal one) with its virtual adapter set to play the scenario, as a drill."""
    settings = {"scenario": str(scenario_path), "timing": Timing.SCENARIO.value, "loop": False}
    if config is None:
        return HubConfig(
            home=HomeConfig(id="demo", name=home_name),
            adapters=[AdapterEntry(type=VIRTUAL, config=settings)],
            drill=True,
        )
    entries = list(config.adapters)
    index = next((i for i, e in enumerate(entries) if e.type == VIRTUAL and e.enabled), None)
    if index is None:
        entries.append(AdapterEntry(type=VIRTUAL, config=settings))
    else:
        old = entries[index]
        merged = {k: v for k, v in old.config.items() if k not in ("home", "scenario", "timing", "loop")}
        entries[index] = old.model_copy(update={"config": {**merged, **settings}})
    return config.model_copy(update={"adapters": entries, "drill": True})


def prepare(scenario_path: Path, config: HubConfig | None, catalog: Catalog) -> tuple[Scenario, HubConfig]:
    """Load (and so validate) the scenario, and the hub config that plays it."""
    scenario = load_scenario(scenario_path, catalog)
    return scenario, simulation_config(Path(scenario.source).resolve(), config, scenario.home.name)


async def simulate(
    scenario_path: Path,
    *,
    speed: float,
    data_dir: Path,
    config: HubConfig | None = None,
    on_event: Callable[[Any], None] | None = None,
    services: Sequence[Service] = (),
    catalog: Catalog | None = None,
    before_stop: Callable[[Hub], Awaitable[None]] | None = None,
) -> SimulationResult:
    """Run the scenario (a path or a name in ``examples/homes``) to its end.

    Raises ``ScenarioError`` for an invalid scenario (before anything starts) and
    ``SimulationError`` if the virtual adapter does not reach the end. ``before_stop(hub)``
    runs once the scenario is over, before the hub stops (e.g. to let the outbox deliver).
    """
    catalog = catalog or default_catalog()
    scenario, cfg = prepare(scenario_path, config, catalog)
    instance = next(e.instance for e in cfg.adapters if e.type == VIRTUAL and e.enabled)
    clock = HeldClock(scenario.start, speed)
    hub = Hub(cfg, data_dir=data_dir, clock=clock, catalog=catalog, adapter_classes={VIRTUAL: VirtualAdapter})
    for svc in services:
        hub.add_service(svc)
    sub = hub.bus.subscribe("simulate", maxsize=10_000_000)
    messages: list[Any] = []
    async with hub:
        consumer = asyncio.create_task(_consume(sub, messages, on_event), name="simulate-consumer")
        try:
            await hub.supervisor.wait_running(instance)
            adapter = hub.supervisor.slots[instance].instance
            assert isinstance(adapter, VirtualAdapter)
            clock.release()
            limit = scenario.duration.total_seconds() / speed + GRACE_SECONDS
            try:
                async with asyncio.timeout(limit):
                    await adapter.finished.wait()
            except TimeoutError:
                error = hub.supervisor.slots[instance].last_error
                raise SimulationError(
                    f"scenario {scenario.name} did not finish within {limit:.1f} s"
                    + (f" (virtual adapter: {error})" if error else "")
                ) from None
            ended = clock.now()
            await asyncio.sleep(0)  # let services react to the last step
            if before_stop is not None:
                await before_stop(hub)
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        _drain(sub, messages, on_event)
        state = {
            rec.id: {
                comp: {cap: {p: v.value for p, v in props.items()} for cap, props in caps.items()}
                for comp, caps in hub.state.of_device(rec.id).items()
            }
            for rec in hub.registry.all()
        }
        available = {rec.id: rec.available for rec in hub.registry.all()}
    alerts = [m.data.alert for m in messages if str(m.type) == MessageType.ALERT_RAISED]
    return SimulationResult(scenario, messages, state, available, scenario.start, ended, alerts)


async def _consume(sub: Subscription, out: list[Any], on_event: Callable[[Any], None] | None) -> None:
    async for msg in sub:
        out.append(msg)
        if on_event is not None:
            on_event(msg)


def _drain(sub: Subscription, out: list[Any], on_event: Callable[[Any], None] | None) -> None:
    while (msg := sub.get_nowait()) is not None:
        out.append(msg)
        if on_event is not None:
            on_event(msg)
