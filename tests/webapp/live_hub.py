"""A real hub (virtual demo home, alert engine, API with the web app) running on its own event
loop in a background thread, so a synchronous Playwright test can drive the browser while it
plays a scenario's steps into the hub exactly when the test wants them (no race with a clock)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.virtual.adapter import VirtualAdapter
from adapters.virtual.scenario import FireEvent, SetState, Step, load_scenario
from dhi.catalog import default_catalog
from hub.api.models import Scope
from hub.api.server import ApiService
from hub.config import HubConfig
from hub.core import Hub
from hub.webapp import install
from hub.webapp.pairing import PairingCodes
from hub.webapp.routes import wall_clock
from tests.api.support import TEST_SETTINGS
from tests.e2e.hub_process import attach_missing
from tests.e2e.procs import free_port, webhook_subscription


async def _accept(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


class LiveHub:
    """The hub tells a loopback webhook (a community platform that answers 200) about smoke and falls."""

    def __init__(self, data: Path, scenario: str) -> None:
        self.platform_port = free_port()
        endpoint = f"http://127.0.0.1:{self.platform_port}/webhook"
        cfg = HubConfig.model_validate(
            {
                "adapters": [{"type": "virtual", "config": {}}],
                "alerts": {
                    "outbox": {"base_delay": 0.1, "max_delay": 0.5},
                    "subscriptions": [webhook_subscription(endpoint, ["smoke", "fall", "sos"])],
                },
            }
        )
        # the hub clock starts at the scenario's own time of day: played at the wall clock's, a
        # kitchen fire in the small hours of Shanghai is also night activity (a second banner)
        cfg.clock.start = load_scenario(scenario, default_catalog()).start
        cfg.api.host = "127.0.0.1"
        cfg.api.port = 0
        cfg.home.name = "陈奶奶的家"
        self.hub = Hub(cfg, data_dir=data)
        self.api = ApiService(TEST_SETTINGS, extensions=[install])
        self.hub.add_service(self.api)
        attach_missing(self.hub)
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._main(),), daemon=True
        )

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        received = web.Application()
        received.router.add_post("/webhook", _accept)
        runner = web.AppRunner(received)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.platform_port).start()
        try:
            await self._serve()
        finally:
            await runner.cleanup()

    async def _serve(self) -> None:
        assert self._stop is not None
        async with self.hub:
            for name in self.hub.supervisor.slots:
                await self.hub.supervisor.wait_running(name)
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> LiveHub:
        self._thread.start()
        assert self._ready.wait(60), "the hub did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    def code(self) -> str:
        async def issue() -> str:
            code, _ = await PairingCodes(self.hub.storage, wall_clock).issue([Scope.ADMIN])
            return code

        return str(self.run(issue()))

    def _virtual(self) -> VirtualAdapter:
        [slot] = [s for s in self.hub.supervisor.slots.values() if isinstance(s.instance, VirtualAdapter)]
        adapter: VirtualAdapter = slot.instance
        return adapter

    def play(self, steps: list[Step]) -> None:
        """Apply scenario steps now, in order, on the hub's loop (as the scenario player does)."""

        async def apply() -> None:
            adapter = self._virtual()
            for step in steps:
                adapter.apply_step(step, self.hub.clock.now())

        self.run(apply())

    def alerts(self) -> list[Any]:
        engine = next(s for s in self.hub.services if type(s).__name__ == "AlertEngine")
        return list(engine.list_alerts())


def scenario_steps(name: str, until_note: str | None = None) -> list[Step]:
    return list(load_scenario(name, default_catalog()).steps)


def smoke_clears(device: str = "kitchen-smoke") -> list[Step]:
    """The smoke alarm goes quiet: the state says so and the device sends its ``cleared`` event."""
    return [
        Step(
            0,
            timedelta(0),
            device,
            "main",
            "dhi.smoke_alarm",
            SetState({"smoke": False, "severity": "normal"}),
        ),
        Step(1, timedelta(0), device, "main", "dhi.smoke_alarm", FireEvent("cleared", {})),
    ]
