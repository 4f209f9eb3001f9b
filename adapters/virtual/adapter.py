"""The virtual adapter: a simulated home whose devices really change state when commanded,
optionally driven by a scenario (``dhome simulate``, ``dhome run --demo``)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from adapters.sdk import AdapterContext
from adapters.virtual.capdevices import capability_devices
from adapters.virtual.config import VirtualConfig
from adapters.virtual.device import VirtualDevice
from adapters.virtual.effects import plan_command
from adapters.virtual.home import DeviceTemplate, Home, definition_of, load_home, resolve_home
from adapters.virtual.player import play
from adapters.virtual.scenario import FireEvent, Scenario, SetAvailable, SetState, Step, load_scenario
from dhi.errors import DeviceUnavailable, HubError, UnknownCapability, UnknownComponent, UnknownDevice
from dhi.models import CapabilityInstance, CommandRequest, CommandResult, CommandStatus
from dhi.models.catalog import CapabilityDef

DEFAULT_HOME = "demo"
#: ids published last time, so devices dropped from the home file are removed from the hub
KNOWN_DEVICES_FILE = "devices.json"


class VirtualAdapter:
    name: ClassVar[str] = "virtual"
    config_model: ClassVar[type[VirtualConfig]] = VirtualConfig

    def __init__(self, config: VirtualConfig) -> None:
        self.config = config
        self.devices: dict[str, VirtualDevice] = {}
        self.scenario: Scenario | None = None
        self.home: Home | None = None
        #: set when a non-looping scenario has played to its end
        self.finished = asyncio.Event()
        #: commands that reached this adapter (the dispatcher validates before calling us)
        self.executed = 0
        self._ctx: AdapterContext | None = None

    def __repr__(self) -> str:
        return f"VirtualAdapter(devices={len(self.devices)}, scenario={self.config.scenario!r})"

    # ------------------------------------------------------------ lifecycle
    async def start(self, ctx: AdapterContext) -> None:
        self._ctx = ctx
        templates = self._load(ctx)
        adapter = ctx.adapter
        self.devices = {}
        for template in templates:
            dev = VirtualDevice.create(template, adapter)
            if ctx.publish_device(dev.description):
                self.devices[dev.id] = dev
        self._forget_removed(ctx, set(self.devices))
        when = ctx.now()
        for dev in self.devices.values():
            self._publish_all(dev, when)
        if self.scenario is not None:
            ctx.spawn(
                play(
                    ctx,
                    self.scenario,
                    self,
                    timing=self.config.timing,
                    loop=self.config.loop,
                    finished=self.finished,
                ),
                "scenario",
            )
        ctx.logger.info(
            "virtual home %r: %d devices%s",
            self.home.name if self.home else "-",
            len(self.devices),
            f", playing {self.scenario.name}" if self.scenario else "",
        )

    async def stop(self) -> None:
        self._ctx = None

    def _load(self, ctx: AdapterContext) -> list[DeviceTemplate]:
        cfg = self.config
        if cfg.scenario is not None:
            self.scenario = load_scenario(cfg.scenario, ctx.catalog)
        if cfg.home is not None:
            home = load_home(resolve_home(cfg.home), ctx.catalog)
            if (
                self.scenario is not None
                and Path(home.source).resolve() != Path(self.scenario.home.source).resolve()
            ):
                raise ValueError(
                    f"virtual adapter: home {cfg.home!r} is not the home of scenario {self.scenario.name!r} "
                    f"({self.scenario.home.source}); leave 'home' out to use the scenario's"
                )
            self.home = home
        elif self.scenario is not None:
            self.home = self.scenario.home
        else:
            self.home = load_home(resolve_home(DEFAULT_HOME), ctx.catalog)
        templates = dict(self.home.devices)
        if cfg.all_capabilities:
            templates.update(capability_devices(ctx.catalog))
        return list(templates.values())

    def _forget_removed(self, ctx: AdapterContext, current: set[str]) -> None:
        path = ctx.data_dir / KNOWN_DEVICES_FILE
        try:
            previous = set(json.loads(path.read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError, TypeError):
            previous = set()
        for device_id in sorted(previous - current):
            ctx.remove_device(device_id)
        path.write_text(json.dumps(sorted(current)), encoding="utf-8")

    # ------------------------------------------------------------ publishing
    def _publish_all(self, dev: VirtualDevice, when: datetime) -> None:
        ctx = self._require_ctx()
        for (component, capability), values in dev.state.items():
            if values:
                ctx.publish_state(dev.id, capability, dict(values), component=component, time=when)
        ctx.set_available(dev.id, dev.available, None if dev.available else "configured unavailable")

    def _require_ctx(self) -> AdapterContext:
        if self._ctx is None:
            raise RuntimeError("the virtual adapter is not running")
        return self._ctx

    # ------------------------------------------------------------ the scenario stage
    def apply_step(self, step: Step, when: datetime) -> None:
        ctx = self._require_ctx()
        dev = self.devices.get(f"{ctx.adapter}:{step.device}")
        if dev is None:
            ctx.report_invalid(f"scenario step {step.index}: device {step.device!r} was not published")
            return
        action = step.action
        match action:
            case SetState(properties=props):
                assert step.capability is not None
                dev.update(step.component, step.capability, dict(props))
                ctx.publish_state(dev.id, step.capability, dict(props), component=step.component, time=when)
            case FireEvent(event=event, payload=payload):
                assert step.capability is not None
                ctx.publish_event(
                    dev.id, step.capability, event, dict(payload), component=step.component, time=when
                )
            case SetAvailable(available=available):
                dev.available = available
                ctx.set_available(dev.id, available, step.note or "scenario")

    def reset(self, when: datetime) -> None:
        for dev in self.devices.values():
            dev.reset()
            self._publish_all(dev, when)

    # ------------------------------------------------------------ commands
    async def execute(self, cmd: CommandRequest) -> CommandResult:
        self.executed += 1
        try:
            dev, inst, definition = self._target(cmd)
            current = dev.values(cmd.component, cmd.capability)
            plan = plan_command(inst, definition, cmd.command, cmd.params, current)
        except HubError as exc:
            return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=exc.info())
        ctx = self._require_ctx()
        if plan.updates:
            dev.update(cmd.component, cmd.capability, plan.updates)
            ctx.publish_state(dev.id, cmd.capability, plan.updates, component=cmd.component)
        for emit in plan.events:
            ctx.publish_event(dev.id, cmd.capability, emit.event, dict(emit.payload), component=cmd.component)
        return CommandResult(
            id=cmd.id,
            device=cmd.device,
            status=CommandStatus.OK,
            result={"properties": plan.updates, "events": [e.event for e in plan.events]},
        )

    def _target(self, cmd: CommandRequest) -> tuple[VirtualDevice, CapabilityInstance, CapabilityDef]:
        """Checked again here: the adapter may be driven without the hub's dispatcher."""
        dev = self.devices.get(cmd.device or "")
        if dev is None:
            raise UnknownDevice(f"no virtual device {cmd.device!r}", field="device")
        if not dev.available:
            raise DeviceUnavailable(f"device {dev.id} is unavailable", field="device")
        comp = dev.description.component(cmd.component)
        if comp is None:
            raise UnknownComponent(f"{dev.id} has no component {cmd.component!r}", field="component")
        inst = comp.capability(cmd.capability)
        definition = None if inst is None else definition_of(inst, self._require_ctx().catalog)
        if inst is None or definition is None:
            raise UnknownCapability(
                f"{cmd.component} of {dev.id} has no {cmd.capability!r}", field="capability"
            )
        return dev, inst, definition
