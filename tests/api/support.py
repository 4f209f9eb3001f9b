"""A running hub with the API on loopback, for the API tests.

``ProbeAdapter`` is a small adapter written for these tests (a lamp and a thermometer whose
readings the test pushes); ``virtual`` is the real simulated home.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.sdk import AdapterContext, NoConfig
from dhi.models import CommandRequest, CommandResult, DeviceDescription
from hub.api.context import ApiSettings
from hub.api.models import Scope
from hub.api.server import ApiService
from hub.config import AdapterEntry, HubConfig
from hub.core import Hub

LAMP = "probe:lamp"
SMOKE = "probe:smoke"
THERMO = "probe:thermo"


class ProbeAdapter:
    name = "probe"
    config_model = NoConfig

    def __init__(self, config: NoConfig) -> None:
        self.ctx: AdapterContext | None = None
        self.commands: list[CommandRequest] = []
        self.on = False

    async def start(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        ctx.publish_device(
            DeviceDescription.model_validate(
                {
                    "id": LAMP,
                    "name": "Probe lamp",
                    "room": "lab",
                    "components": [
                        {
                            "id": "main",
                            "capabilities": [
                                {"id": "dhi.on_off"},
                                {"id": "dhi.level", "properties": ["level"]},
                            ],
                        }
                    ],
                }
            )
        )
        ctx.publish_device(
            DeviceDescription.model_validate(
                {
                    "id": THERMO,
                    "name": "Probe thermometer",
                    "room": "hall",
                    "components": [
                        {
                            "id": "main",
                            "capabilities": [{"id": "dhi.temperature", "properties": ["temperature"]}],
                        }
                    ],
                }
            )
        )
        ctx.publish_device(
            DeviceDescription.model_validate(
                {
                    "id": SMOKE,
                    "name": "Probe smoke alarm",
                    "room": "kitchen",
                    "components": [
                        {"id": "main", "capabilities": [{"id": "dhi.smoke_alarm", "properties": ["smoke"]}]}
                    ],
                }
            )
        )
        ctx.publish_state(LAMP, "dhi.on_off", {"on": False})
        ctx.publish_state(LAMP, "dhi.level", {"level": 10})
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 20.0})

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        assert self.ctx is not None and cmd.device is not None
        self.commands.append(cmd)
        if cmd.capability == "dhi.on_off":
            new = {"on": True, "off": False, "toggle": not self.on}.get(cmd.command, cmd.params.get("on"))
            self.on = bool(new)
            self.ctx.publish_state(cmd.device, "dhi.on_off", {"on": self.on})
        elif cmd.command == "set":
            self.ctx.publish_state(cmd.device, cmd.capability, dict(cmd.params))
        elif cmd.command == "set_level":
            self.ctx.publish_state(cmd.device, "dhi.level", {"level": cmd.params["level"]})
        return CommandResult(id=cmd.id, status="ok")

    async def stop(self) -> None:
        self.ctx = None


def probe_ctx(hub: Hub) -> AdapterContext:
    ctx = hub.supervisor.slots["probe"].ctx
    assert ctx is not None
    return ctx


@dataclass
class Harness:
    hub: Hub
    api: ApiService
    tokens: dict[Scope, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def ws_url(self) -> str:
        return self.api.url.replace("http://", "ws://", 1) + "/ws"

    def auth(self, scope: Scope) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def hub_config(
    *, virtual: bool = False, ws_queue: int = 1000, virtual_config: dict[str, Any] | None = None
) -> HubConfig:
    adapters = [AdapterEntry(type="probe")]
    if virtual:
        adapters.append(AdapterEntry(type="virtual", config=virtual_config or {}))
    cfg = HubConfig(adapters=adapters)
    cfg.api.host = "127.0.0.1"
    cfg.api.port = 0
    cfg.api.ws_queue = ws_queue
    return cfg


TEST_SETTINGS = ApiSettings(
    ws_send_timeout=1.0, ws_auth_timeout=2.0, ws_close_timeout=0.5, auth_fail_limit=10_000
)


@contextlib.asynccontextmanager
async def running_hub(
    data_dir: Path,
    *,
    config: HubConfig | None = None,
    settings: ApiSettings = TEST_SETTINGS,
    extra_services: list[Any] | None = None,
) -> AsyncIterator[Harness]:
    cfg = config or hub_config()
    hub = Hub(cfg, data_dir=data_dir, adapter_classes={"probe": ProbeAdapter})
    api = ApiService(settings)
    hub.add_service(api)
    for svc in extra_services or []:
        hub.add_service(svc)
    async with hub:
        for name in hub.supervisor.slots:
            await hub.supervisor.wait_running(name)
        harness = Harness(hub, api)
        for scope in Scope:
            _, secret = await api.context.tokens.create(f"test-{scope.value}", [scope])
            harness.tokens[scope] = secret
        yield harness


class HubThread:
    """A hub running in its own thread and event loop, for synchronous clients (schemathesis)."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        self._data_dir = data_dir
        self._kwargs = kwargs
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.harness: Harness | None = None
        self._thread = threading.Thread(target=self._main, name="hub-thread", daemon=True)

    def _main(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            async with running_hub(self._data_dir, **self._kwargs) as harness:
                self.harness = harness
                self._loop = asyncio.get_running_loop()
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced in __enter__/__exit__
            self._error = exc
            self._ready.set()

    def call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def __enter__(self) -> Harness:
        self._thread.start()
        self._ready.wait(timeout=60)
        if self._error is not None:
            raise self._error
        assert self.harness is not None
        return self.harness

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def hub_thread(data_dir: Path, **kwargs: Any) -> Iterator[Harness]:
    with HubThread(data_dir, **kwargs) as harness:
        yield harness
