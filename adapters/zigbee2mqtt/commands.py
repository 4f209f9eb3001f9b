"""DHI commands -> Zigbee2MQTT ``<friendly_name>/set`` payloads (pure; no I/O).

``set`` writes properties (``{"params": {property: value}}``) through the reverse
converters of their bindings; catalog commands (``dhi.on_off`` ``toggle`` …) go through
``COMMAND_ROWS``. Every refusal is a ``HubError`` with a stable code, raised before
anything is sent.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk.convert import ConversionError
from adapters.zigbee2mqtt.exposes import Expose
from adapters.zigbee2mqtt.mapping import Binding, DeviceMap
from adapters.zigbee2mqtt.rows import COMMAND_ROWS
from dhi.catalog import Catalog, check_params, check_value
from dhi.errors import (
    HubError,
    InvalidParams,
    NotWritable,
    UnknownCapability,
    UnknownCommand,
    UnknownComponent,
    UnknownProperty,
    Unsupported,
)
from dhi.models import CommandRequest
from dhi.models.command import SET_COMMAND


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``("color", "x"), 0.3`` -> ``{"color": {"x": 0.3}}``."""
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    assert isinstance(out, dict)
    return out


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of two payload fragments (``color.x`` and ``color.y`` share ``color``)."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


class CommandContext:
    """What a ``CommandRow.build`` may use: the component's bindings of one capability."""

    def __init__(self, bindings: dict[str, Binding], endpoint: str | None) -> None:
        self._bindings = bindings
        self.endpoint = endpoint

    @property
    def bindings(self) -> dict[str, Binding]:
        return self._bindings

    def _binding(self, member: str) -> Binding:
        b = self._bindings.get(member)
        if b is None:
            raise Unsupported(f"this device has no {member!r} for this command")
        return b

    def key(self, member: str) -> str:
        return self._binding(member).path[0]

    def expose(self, member: str) -> Expose:
        return self._binding(member).expose

    def sibling_key(self, member: str, name: str) -> str:
        """A z2m key next to ``member`` with the same endpoint suffix (``brightness_move_l2``)."""
        ep = self._binding(member).endpoint
        return f"{name}_{ep}" if ep else name

    def payload_for(self, member: str, value: Any) -> dict[str, Any]:
        b = self._binding(member)
        if b.prop is not None:
            check_value(b.prop, value, member)
        try:
            raw = b.convert.back(value)
        except ConversionError as exc:
            raise InvalidParams(f"{member}: {exc}", field=f"params.{member}") from None
        return nest(b.path, raw)

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return merge(a, b)

    def unsupported(self, message: str) -> HubError:
        return Unsupported(message)


def build_set_payload(device: DeviceMap, cmd: CommandRequest, catalog: Catalog) -> dict[str, Any]:
    """The JSON object to publish on ``<base>/<friendly_name>/set`` for ``cmd``."""
    if device.description is None or device.description.component(cmd.component) is None:
        raise UnknownComponent(f"device has no component {cmd.component!r}", field="component")
    bindings = device.component_bindings(cmd.component, cmd.capability)
    if not bindings:
        raise UnknownCapability(
            f"component {cmd.component!r} has no capability {cmd.capability!r}", field="capability"
        )
    if cmd.command == SET_COMMAND:
        return _set_properties(bindings, cmd)
    row = next((r for r in COMMAND_ROWS if r.capability == cmd.capability and r.command == cmd.command), None)
    instance = device.description.component(cmd.component)
    cap = instance.capability(cmd.capability) if instance is not None else None
    offered = cap.commands if cap is not None else None
    if row is None or offered is None or cmd.command not in offered:
        raise UnknownCommand(
            f"{cmd.capability} on this device does not offer {cmd.command!r}", field="command"
        )
    definition = catalog.get(cmd.capability)
    command_def = definition.command(cmd.command) if definition is not None else None
    if command_def is not None:
        check_params(command_def.params, cmd.params)
    endpoint = next(iter(bindings.values())).endpoint
    return row.build(CommandContext(bindings, endpoint), dict(cmd.params))


def _set_properties(bindings: dict[str, Binding], cmd: CommandRequest) -> dict[str, Any]:
    if not cmd.params:
        raise InvalidParams("set needs at least one property in params", field="params")
    payload: dict[str, Any] = {}
    for member, value in cmd.params.items():
        b = bindings.get(member)
        if b is None or b.prop is None:
            raise UnknownProperty(
                f"{cmd.capability} has no property {member!r} here", field=f"params.{member}"
            )
        if not b.settable or not b.prop.writable:
            raise NotWritable(
                f"{cmd.capability}.{member} cannot be set on this device", field=f"params.{member}"
            )
        check_value(b.prop, value, f"params.{member}")
        try:
            raw = b.convert.back(value)
        except ConversionError as exc:
            raise InvalidParams(f"params.{member}: {exc}", field=f"params.{member}") from None
        payload = merge(payload, nest(b.path, raw))
    return payload
