"""The supervisor restarts a crashing adapter with backoff; other adapters are never affected."""

from __future__ import annotations

import asyncio

from dhi.models.envelope import MessageType
from hub.bus import Filter
from tests.hub.conftest import HubFactory


async def _wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_crashing_adapter_is_restarted_while_others_keep_publishing(make_hub: HubFactory) -> None:
    hub = make_hub(
        [
            {"type": "toy", "name": "steady", "config": {"devices": 1, "period": 0.01}},
            {"type": "toy", "name": "flaky", "config": {"devices": 1, "period": 0.01, "crash_after": 5}},
        ]
    )
    async with hub:
        steady = hub.bus.subscribe(
            "steady", Filter.of(devices=["steady:lamp0"], types=[MessageType.STATE_CHANGED])
        )
        avail = hub.bus.subscribe("avail", Filter.of(types=[MessageType.DEVICE_AVAILABILITY]))
        flaky = hub.supervisor.slots["flaky"]
        await _wait(lambda: flaky.restarts >= 3)
        # the steady adapter never stopped publishing while the other crashed three times
        assert hub.supervisor.slots["steady"].restarts == 0
        assert steady.delivered + steady.depth > 20
        assert "RuntimeError: toy adapter crashed on purpose" in (flaky.last_error or "")
        assert hub.metrics.adapter_restarts.labels("flaky")._value.get() >= 3
        # the flaky adapter's device went unavailable after a crash, and came back on restart
        changes = []
        while (m := avail.get_nowait()) is not None:
            changes.append((m.data.device, m.data.available))
        assert ("flaky:lamp0", False) in changes
        assert ("flaky:lamp0", True) in changes
        assert not any(dev == "steady:lamp0" and not up for dev, up in changes)


async def test_adapter_failing_in_start_is_retried_with_backoff(make_hub: HubFactory) -> None:
    from tests.hub.toys import LampAdapter

    class BrokenStart(LampAdapter):
        async def start(self, ctx):  # type: ignore[no-untyped-def]
            raise ConnectionRefusedError("broker not reachable")

    hub = make_hub(
        [{"type": "broken", "name": "broken"}, {"type": "toy", "name": "ok"}],
        adapter_classes={"broken": BrokenStart, "toy": LampAdapter},
    )
    async with hub:
        await hub.supervisor.wait_running("ok")
        slot = hub.supervisor.slots["broken"]
        await _wait(lambda: slot.restarts >= 2)
        assert slot.last_error == "ConnectionRefusedError: broker not reachable"
        assert hub.supervisor.target("broken") is None
        assert hub.supervisor.target("ok") is not None


async def test_stop_is_bounded_even_if_an_adapter_hangs_in_stop(make_hub: HubFactory) -> None:
    from tests.hub.toys import LampAdapter

    class Hangs(LampAdapter):
        async def stop(self) -> None:
            await asyncio.sleep(3600)

    hub = make_hub([{"type": "hang", "name": "hang"}], adapter_classes={"hang": Hangs})
    hub.supervisor._stop_timeout = 0.2
    await hub.start()
    await hub.supervisor.wait_running("hang")
    async with asyncio.timeout(5):  # generous bound; what matters is that it returns
        await hub.stop()
    assert hub.supervisor.slots["hang"].state == "stopped"
