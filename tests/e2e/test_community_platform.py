"""End to end with real processes: a hub (``dhome run`` set-up) configured by hand with a webhook
subscription, playing a scenario on a fast clock, and the community platform (``dhome-community``).
Each scenario raises exactly its alert, which reaches the platform signed and verified. Then the
loss tests: receiver away for a while, and a hub killed with ``kill -9`` in the middle of
delivering. (Enrolment by code, staff and acknowledgements: tests/e2e/test_community.py.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from tests.e2e.procs import HOME, HubProcess, Platform, free_port, wait_until, webhook_subscription

pytestmark = pytest.mark.slow

#: The hub clock of ``dhome run`` starts at the real time of day, not at the scenario's start,
#: so the inactivity rule gets one whole-day window here (the time-of-day windows are tested
#: in-process with the scenario clock in tests/alerts/test_scenarios.py).
WHOLE_DAY = {"inactivity": {"windows": [{"start": "00:00", "end": "00:00", "max_quiet": "12h"}]}}
FAST_RETRY = {"base_delay": 0.1, "max_delay": 0.5, "give_up_after": 3600}
ALL_ALERTS = ["smoke", "co", "gas_leak", "water_leak", "sos", "fall", "inactivity", "night_activity",
              "door_open", "device_offline", "low_battery", "tamper", "heat"]  # fmt: skip


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.hub: HubProcess | None = None
        self.platform: Platform | None = None

    def close(self) -> None:
        for p in (self.platform, self.hub):
            if p is not None:
                p.stop()

    def logs(self) -> str:
        parts = []
        for p in (self.hub, self.platform):
            if p is not None and p.proc is not None:
                parts.append(f"--- {p.proc.name} log ---\n{p.proc.tail()}")
        return "\n".join(parts)


@pytest.fixture
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    s = Setup(tmp_path)
    yield s
    failed = getattr(request.node, "rep_call", None)
    s.close()
    if failed is not None and failed.failed:
        print(s.logs())


def hub_for(tmp: Path, scenario: str | None, speed: float, endpoint: str, **sub: Any) -> HubProcess:
    alerts = {
        "rules": WHOLE_DAY,
        "outbox": FAST_RETRY,
        "subscriptions": [webhook_subscription(endpoint, sub.pop("kinds", ALL_ALERTS), **sub)],
    }
    return HubProcess(tmp, scenario=scenario, speed=speed, alerts=alerts)


def start_pair(
    setup: Setup, scenario: str, speed: float, *, via: str | None = None, **sub: Any
) -> tuple[HubProcess, Platform]:
    """A hub whose subscription points at the platform (or ``via`` a proxy to it), and the
    platform knowing the hub's API and an ``alerts`` token; neither started yet."""
    port = free_port()
    endpoint = via or f"http://127.0.0.1:{port}/webhook"
    hub = setup.hub = hub_for(setup.tmp, scenario, speed, endpoint, **sub)
    setup.platform = Platform(setup.tmp, port, hub.api_port, hub.token("alerts", "community"))
    return hub, setup.platform


@pytest.mark.parametrize(
    ("scenario", "kind", "room", "speed"),
    [
        ("kitchen_fire", "smoke", "kitchen", 600),
        ("gas_leak", "gas_leak", "kitchen", 600),
        ("elderly_fall", "fall", "bathroom", 600),
        ("inactivity_12h", "inactivity", None, 3600),
    ],
)
def test_scenario_alert_reaches_the_platform_once(
    setup: Setup, scenario: str, kind: str, room: str | None, speed: float
) -> None:
    hub, platform = start_pair(setup, scenario, speed)
    platform.start()
    hub.start()

    [alert] = wait_until(platform.alerts, 120, f"the {kind} alert on the platform")
    assert alert["kind"] == kind and alert["home"] == HOME and alert.get("room") == room
    # let the whole scenario play out: still exactly this one alert
    wait_until(hub.scenario_done, 120, "the scenario to finish")
    assert [(a["kind"], a["id"]) for a in platform.alerts()] == [(kind, alert["id"])]
    stats = platform.stats()
    assert stats.get("received", 0) >= 1 and stats.get("rejected", 0) == 0  # all signed and verified

    audit = hub.db("SELECT action FROM audit WHERE subscription = 'community'")
    assert ("share.delivered",) in audit


def test_receiver_down_for_a_while_then_everything_arrives(setup: Setup) -> None:
    hub, platform = start_pair(setup, "kitchen_fire", 600, message_types=["org.dhi.v1.state.changed"])
    hub.start()
    # the platform is not running: everything waits in the outbox, attempts fail
    wait_until(
        lambda: hub.db("SELECT 1 FROM outbox WHERE message_id LIKE '%.raised'"), 120, "the alert queued"
    )
    wait_until(lambda: (hub.db("SELECT MAX(attempts) FROM outbox")[0][0] or 0) >= 2, 60, "failed attempts")
    assert platform.proc is None
    platform.start()
    wait_until(hub.scenario_done, 120, "the scenario to finish")
    queued = {r[0] for r in hub.db("SELECT message_id FROM outbox")}
    wait_until(lambda: queued <= set(platform.message_ids()), 120, "every queued message on the platform")
    assert [a["kind"] for a in platform.alerts()] == ["smoke"]
    assert platform.stats().get("rejected", 0) == 0


class SlowProxy:
    """Between hub and platform: forwards each webhook after a pause, so a test can kill the hub
    while deliveries are under way. (A test device, not part of either system.)"""

    def __init__(self, target: str, delay: float) -> None:
        self.target = target
        self.delay = delay
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("webhook-")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        async with ClientSession() as session, session.post(self.target, data=body, headers=headers) as resp:
            return web.Response(status=resp.status, body=await resp.read())

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/webhook", self._forward)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = self._runner.addresses[0][1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> SlowProxy:
        self.port = free_port()
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def test_hub_killed_mid_delivery_loses_nothing(setup: Setup) -> None:
    port = free_port()
    with SlowProxy(f"http://127.0.0.1:{port}/webhook", delay=0.15) as proxy:
        hub = setup.hub = hub_for(
            setup.tmp, "kitchen_fire", 600, proxy.url, message_types=["org.dhi.v1.state.changed"]
        )
        platform = setup.platform = Platform(setup.tmp, port, hub.api_port, hub.token("alerts", "community"))
        platform.start()
        hub.start()
        wait_until(lambda: len(platform.message_ids()) >= 5, 120, "deliveries to be under way")
        assert hub.proc is not None
        hub.proc.kill9()
        pending = hub.db("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")[0][0]
        assert pending > 0, "the kill came too late to be mid-delivery"
        hub.start()  # the same data dir: the outbox resumes where it was
        wait_until(hub.scenario_done, 120, "the replayed scenario to finish")
        wait_until(
            lambda: not hub.db("SELECT 1 FROM outbox WHERE state = 'pending'"), 180, "the outbox to drain"
        )
        queued = {r[0] for r in hub.db("SELECT message_id FROM outbox")}
        received = platform.message_ids()
        assert queued <= set(received)  # at least once: everything the hub queued arrived
        assert len(received) == len(set(received))  # stored once: duplicates dropped by id
        assert {a["kind"] for a in platform.alerts()} == {"smoke"}
