"""``AcmeAdapter``: the connection shell around the mapping rows (here: the simulated gateway)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from adapters.sdk import AdapterContext, Row
from adapters.sdk.convert import ConversionError
from adapters.sdk.report import DeviceMapping
from dhi.catalog import check_value
from dhi.errors import (
    AdapterError,
    HubError,
    InvalidParams,
    UnknownCapability,
    UnknownCommand,
    UnknownComponent,
    UnknownDevice,
    UnknownProperty,
)
from dhi.models import CommandRequest, CommandResult, CommandStatus
from dhome_acme.mapping import ROWS, VENDOR_DEFINITIONS, describe, devices_of, row_for, to_hub
from dhome_acme.simulator import DEMO, AcmeSimulator

#: command -> (capability, the property it writes, the value or None for "from params")
COMMANDS: dict[tuple[str, str], tuple[str, Any]] = {
    ("dhi.on_off", "on"): ("on", True),
    ("dhi.on_off", "off"): ("on", False),
    ("dhi.level", "set_level"): ("level", None),
    ("dhi.color_temperature", "set_color_temperature"): ("color_temperature", None),
}


class AcmeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    simulate: bool = True
    #: a gateway dump to seed the simulator with (default: a small demo home)
    recorded: Path | None = None


class AcmeAdapter:
    name: ClassVar[str] = "acme"
    config_model: ClassVar[type[AcmeConfig]] = AcmeConfig

    def __init__(self, config: AcmeConfig) -> None:
        self.config = config
        self.sim: AcmeSimulator | None = None
        self._ctx: AdapterContext | None = None

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        return [describe(cls.name, raw) for raw in devices_of(data)]

    @classmethod
    def mapping_rows(cls) -> tuple[Row, ...]:
        return ROWS

    async def start(self, ctx: AdapterContext) -> None:
        self._ctx = ctx
        dump = json.loads(self.config.recorded.read_text(encoding="utf-8")) if self.config.recorded else DEMO
        self.sim = AcmeSimulator({"devices": devices_of(dump)})
        self.sim.on_change(self._changed)
        for uid, raw in self.sim.devices.items():
            mapping = describe(ctx.adapter, raw)
            if mapping.description is not None and ctx.publish_device(mapping.description):
                self._changed(uid, raw["attrs"])
                ctx.set_available(mapping.description.id, True)

    async def stop(self) -> None:
        self._ctx = None
        self.sim = None

    def _changed(self, uid: str, attrs: dict[str, Any]) -> None:
        ctx = self._ctx
        if ctx is None:
            return
        try:
            values = to_hub(attrs)
        except ConversionError as exc:
            ctx.report_invalid(str(exc), source=uid, payload=attrs)
            return
        for capability, props in values.items():
            ctx.publish_state(f"{ctx.adapter}:{uid}", capability, props)

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        try:
            uid, writes = self._plan(cmd)
            assert self.sim is not None
            await self.sim.write(uid, writes)
        except HubError as exc:
            return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=exc.info())
        return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.OK)

    def _plan(self, cmd: CommandRequest) -> tuple[str, dict[str, Any]]:
        """Check the command against the device (the hub did too; we may be driven directly)."""
        ctx, sim = self._ctx, self.sim
        if ctx is None or sim is None:
            raise AdapterError("the Acme adapter is not running")
        uid = (cmd.device or "").removeprefix(f"{ctx.adapter}:")
        raw = sim.devices.get(uid)
        if raw is None:
            raise UnknownDevice(f"no Acme device {cmd.device!r}", field="device")
        if cmd.component != "main":
            raise UnknownComponent("Acme devices have only the component 'main'", field="component")
        caps = to_hub(raw["attrs"])
        if cmd.capability not in caps:
            raise UnknownCapability(f"{cmd.device} has no {cmd.capability}", field="capability")
        if cmd.command == "set":
            params = dict(cmd.params)
        elif cmd.command == "toggle" and cmd.capability == "dhi.on_off":
            params = {"on": not caps["dhi.on_off"].get("on")}
        elif (cmd.capability, cmd.command) in COMMANDS:
            prop, fixed = COMMANDS[(cmd.capability, cmd.command)]
            params = {prop: fixed if fixed is not None else cmd.params.get(prop)}
        else:
            raise UnknownCommand(f"{cmd.capability} has no command {cmd.command!r} here", field="command")
        if not params:
            raise InvalidParams("nothing to set", field="params")
        definition = VENDOR_DEFINITIONS.get(cmd.capability) or ctx.catalog.require(cmd.capability)
        writes: dict[str, Any] = {}
        for name, value in params.items():
            prop_def = definition.property(name)
            row = row_for(cmd.capability, name)
            if prop_def is None or row is None or name not in caps[cmd.capability]:
                raise UnknownProperty(
                    f"{cmd.capability} has no property {name!r} here", field=f"params.{name}"
                )
            check_value(prop_def, value, f"params.{name}")
            writes[row.source] = row.from_hub(value)
        return uid, writes
