"""Small adapters used by the hub-core tests (real adapters in their own right, not mocks)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from adapters.sdk import AdapterContext
from dhi.models import CommandRequest, CommandResult, CommandStatus, DeviceDescription


class ToyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    devices: int = 1
    period: float = 0.01
    crash_after: int | None = None


def lamp(adapter: str, n: int) -> DeviceDescription:
    return DeviceDescription.model_validate(
        {
            "id": f"{adapter}:lamp{n}",
            "name": f"Lamp {n}",
            "components": [
                {
                    "id": "main",
                    "capabilities": [{"id": "dhi.on_off"}, {"id": "dhi.level", "properties": ["level"]}],
                }
            ],
        }
    )


class LampAdapter:
    """Publishes lamps, toggles their level forever; crashes after ``crash_after`` publishes."""

    name: ClassVar[str] = "toy"
    config_model: ClassVar[type[BaseModel]] = ToyConfig
    starts: ClassVar[int] = 0

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.on: dict[str, bool] = {}

    async def start(self, ctx: AdapterContext) -> None:
        type(self).starts += 1
        self.ctx = ctx
        for n in range(self.config.devices):
            desc = lamp(ctx.adapter, n)
            ctx.publish_device(desc)
            ctx.set_available(desc.id, True)
            self.on[desc.id] = False
            ctx.publish_state(desc.id, "dhi.on_off", {"on": False})
        ctx.spawn(self._tick(ctx), "tick")

    async def _tick(self, ctx: AdapterContext) -> None:
        i = 0
        while True:
            await asyncio.sleep(self.config.period)
            i += 1
            for dev in self.on:
                ctx.publish_state(dev, "dhi.level", {"level": float(i % 101)})
            if self.config.crash_after is not None and i >= self.config.crash_after:
                raise RuntimeError("toy adapter crashed on purpose")

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        assert cmd.device is not None
        if cmd.command == "toggle":
            self.on[cmd.device] = not self.on[cmd.device]
        elif cmd.command in ("on", "off"):
            self.on[cmd.device] = cmd.command == "on"
        elif cmd.command == "set" and "on" in cmd.params:
            self.on[cmd.device] = bool(cmd.params["on"])
        self.ctx.publish_state(cmd.device, "dhi.on_off", {"on": self.on[cmd.device]})
        return CommandResult(id=cmd.id, status=CommandStatus.OK)

    async def stop(self) -> None:
        pass
