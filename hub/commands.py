"""Command dispatch: validate against the catalog, route to the owning adapter, time out.

Validation order (each failure is one precise error, DHI v1 §6.3): device → component →
capability → command (or ``set`` property) → parameters/values → availability.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from dhi.catalog import Catalog, check_params, check_write
from dhi.checks import resolve_capability
from dhi.errors import (
    AdapterError,
    CommandTimeout,
    DeviceUnavailable,
    HubError,
    InvalidDocument,
    InvalidParams,
    NotWritable,
    UnknownCapability,
    UnknownCommand,
    UnknownComponent,
    UnknownDevice,
    UnknownProperty,
)
from dhi.models import CommandRequest, CommandResult, CommandStatus
from dhi.models.command import SET_COMMAND
from hub.registry import DeviceRecord, Registry

log = logging.getLogger(__name__)


class CommandTarget(Protocol):
    async def execute(self, cmd: CommandRequest) -> CommandResult: ...


def validate_command(cmd: CommandRequest, registry: Registry, catalog: Catalog) -> DeviceRecord:
    """Raise the precise ``HubError`` for the first thing wrong with ``cmd``."""
    if cmd.device is None:
        raise InvalidParams("the command names no device", field="device", expected="a device id")
    rec = registry.get(cmd.device)
    if rec is None:
        raise UnknownDevice(f"no device {cmd.device!r}", field="device")
    desc = rec.description
    comp = desc.component(cmd.component)
    if comp is None:
        raise UnknownComponent(
            f"device {desc.id} has no component {cmd.component!r}",
            field="component",
            expected="one of " + ", ".join(c.id for c in desc.components),
        )
    if comp.capability(cmd.capability) is None:
        raise UnknownCapability(
            f"component {cmd.component!r} of {desc.id} has no capability {cmd.capability!r}",
            field="capability",
            expected="one of " + ", ".join(c.id for c in comp.capabilities),
        )
    try:
        inst, definition = resolve_capability(desc, cmd.component, cmd.capability, catalog)
    except InvalidDocument as exc:
        raise UnknownCapability(exc.message, field="capability") from None
    if cmd.command == SET_COMMAND and definition.command(SET_COMMAND) is None:
        if not cmd.params:
            raise InvalidParams(
                "'set' needs at least one property to set", field="params", expected="{property: value}"
            )
        for name, value in cmd.params.items():
            prop = definition.property(name)
            if prop is None or (inst.properties is not None and name not in inst.properties):
                raise UnknownProperty(
                    f"{cmd.capability} has no property {name!r}",
                    field=f"params.{name}",
                    expected="one of " + ", ".join(p.name for p in definition.properties if p.writable),
                )
            if not prop.writable:
                raise NotWritable(f"{cmd.capability}.{name} is read-only", field=f"params.{name}")
            check_write(prop, value, f"params.{name}", (inst.constraints or {}).get(name))
    else:
        command = definition.command(cmd.command)
        if command is None or (inst.commands is not None and cmd.command not in inst.commands):
            names = [c.name for c in definition.commands if inst.commands is None or c.name in inst.commands]
            if any(p.writable for p in definition.properties):
                names.append(SET_COMMAND)
            raise UnknownCommand(
                f"{cmd.capability} has no command {cmd.command!r}",
                field="command",
                expected="one of " + ", ".join(names) if names else "no commands",
            )
        check_params(command.params, cmd.params, "params")
    if not rec.available:
        raise DeviceUnavailable(f"device {desc.id} is unavailable", field="device")
    return rec


def error_result(cmd: CommandRequest, err: HubError) -> CommandResult:
    return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=err.info())


class CommandDispatcher:
    def __init__(
        self,
        registry: Registry,
        catalog: Catalog,
        target_for: Callable[[str], CommandTarget | None],
        *,
        timeout: float = 10.0,
        on_result: Callable[[CommandRequest, CommandResult, str, float], None] | None = None,
    ) -> None:
        self._registry = registry
        self._catalog = catalog
        self._target_for = target_for
        self._timeout = timeout
        self._on_result = on_result

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        """Never raises: every failure becomes an error result with a stable code."""
        started = time.perf_counter()
        adapter = "-"
        try:
            rec = validate_command(cmd, self._registry, self._catalog)
            adapter = rec.adapter
            target = self._target_for(rec.adapter)
            if target is None:
                raise DeviceUnavailable(
                    f"adapter {rec.adapter!r} of device {rec.id} is not running", field="device"
                )
            try:
                async with asyncio.timeout(cmd.timeout or self._timeout):
                    result = await target.execute(cmd)
            except TimeoutError:
                raise CommandTimeout(
                    f"no answer from {rec.id} within {cmd.timeout or self._timeout:g} s"
                ) from None
            except HubError:
                raise
            except Exception as exc:  # an adapter bug must not escape into the API
                log.exception("adapter %s failed executing %s", rec.adapter, cmd.id)
                raise AdapterError(f"adapter {rec.adapter} failed: {type(exc).__name__}: {exc}") from exc
            result = _normalise(cmd, result)
        except HubError as err:
            result = error_result(cmd, err)
        if self._on_result is not None:
            self._on_result(cmd, result, adapter, time.perf_counter() - started)
        return result


def _normalise(cmd: CommandRequest, result: Any) -> CommandResult:
    if not isinstance(result, CommandResult):
        raise AdapterError(f"adapter returned {type(result).__name__}, not a CommandResult")
    updates: dict[str, Any] = {}
    if result.id != cmd.id:
        updates["id"] = cmd.id
    if result.device is None:
        updates["device"] = cmd.device
    return result.model_copy(update=updates) if updates else result
