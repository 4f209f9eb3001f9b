"""The hub process freezes what it keeps for its lifetime (``gc.freeze``) at start and again
once a change of the device set has settled — so the collector stops re-scanning it."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest

from hub.cli import run as run_cli
from hub.core import Hub
from tests.hub.toys import lamp


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts ``gc.freeze`` calls (each also really freezes); restores the collector after."""
    threshold = gc.get_threshold()
    calls: list[int] = []
    real = gc.freeze

    def counting() -> None:
        real()
        calls.append(gc.get_freeze_count())

    monkeypatch.setattr(gc, "freeze", counting)
    yield calls
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def _until(predicate: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_freezes_at_start_and_once_after_a_burst_of_device_changes(
    toy_hub: Hub, freezes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_cli, "_FREEZE_SETTLE", 1.0)  # far above the 0.05 s gaps of the burst
    freezer = asyncio.create_task(run_cli._freeze_long_lived(toy_hub))
    try:
        await _until(lambda: len(freezes) == 1)
        assert freezes[0] > 0
        assert gc.get_threshold()[0] == run_cli._GC_YOUNG
        ctx = toy_hub.supervisor.slots["toy"].ctx
        assert ctx is not None
        for n in range(10, 20):  # a burst of new devices: one freeze after it, not ten
            assert ctx.publish_device(lamp("toy", n))
            await asyncio.sleep(0.05)
        assert len(freezes) == 1  # still settling
        await _until(lambda: len(freezes) == 2)
        await asyncio.sleep(0.5)
        assert len(freezes) == 2  # quiet: no more
    finally:
        freezer.cancel()
        await asyncio.gather(freezer, return_exceptions=True)
