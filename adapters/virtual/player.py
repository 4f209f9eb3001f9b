"""Plays a scenario in hub time: sleep until each step's time on the hub clock, then apply it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from adapters.sdk import AdapterContext
from adapters.virtual.config import Timing
from adapters.virtual.scenario import Scenario, Step


class Stage(Protocol):
    """What the player acts on (the adapter's devices)."""

    def apply_step(self, step: Step, when: datetime) -> None: ...

    def reset(self, when: datetime) -> None: ...


async def play(
    ctx: AdapterContext,
    scenario: Scenario,
    stage: Stage,
    *,
    timing: Timing,
    loop: bool,
    finished: asyncio.Event,
) -> None:
    """One round (or forever with ``loop``); ``finished`` is set once the last round has ended.

    Steps carry their scripted time, so the hub's timestamps match the scenario exactly even
    when a step is applied a little late on a fast clock. Rounds follow each other back to
    back in hub time, the devices reset to the home's initial state at the start of each.
    """
    base = scenario.start if timing is Timing.SCENARIO else ctx.now()
    rounds = 0
    while True:
        if rounds:
            stage.reset(base)
        for step in scenario.steps:
            when = scenario.time_of(step, base)
            await ctx.sleep_until(when)
            stage.apply_step(step, when)
        end = base + scenario.duration
        await ctx.sleep_until(end)
        rounds += 1
        ctx.logger.info("scenario %s: round %d finished", scenario.name, rounds)
        if not loop:
            break
        base = end
    finished.set()
