"""The Homie 5 adapter: ``homie/5/<device>/$state``, ``$description``, property values, ``/set``.

Homie is state based: a command is a value published to ``…/<node>/<property>/set``; the
device confirms by publishing the property's new value, which is the command's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.homie.mapping import STATES
from adapters.homie.model import HomieDevice, PropMap, decode_value, describe, encode_value, parse_description
from adapters.sdk import DeviceMapping
from adapters.sdk.commands import run_command
from adapters.sdk.mqtt import (
    BrokerSettings,
    MessageCallback,
    MqttError,
    MqttMessage,
    PayloadError,
    decode_json,
)
from adapters.sdk.mqtt.describe import checked
from adapters.sdk.mqtt.lanes import lane_option
from adapters.sdk.mqtt.shell import MqttAdapterShell
from dhi.errors import (
    AdapterError,
    CommandTimeout,
    InvalidParams,
    NotWritable,
    UnknownDevice,
    Unsupported,
)
from dhi.models import CommandRequest, CommandResult
from dhi.models.command import SET_COMMAND

_MAX_HELD = 256  # messages held per device while its $description is missing


class HomieConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    prefix: Annotated[
        str, Field(pattern=r"^[^#+\s]+$", description="topic root; Homie 5 lives below <prefix>/5")
    ] = "homie"
    command_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    max_pending_devices: Annotated[int, Field(ge=1)] = 1000
    safety_lane: bool = lane_option()


#: command -> (DHI property it writes, value from (params, current value))
COMMANDS: dict[tuple[str, str], tuple[str, Any]] = {
    ("dhi.on_off", "on"): ("on", lambda p, cur: True),
    ("dhi.on_off", "off"): ("on", lambda p, cur: False),
    ("dhi.on_off", "toggle"): ("on", lambda p, cur: not cur),
    ("dhi.level", "set_level"): ("level", lambda p, cur: p["level"]),
}


@dataclass
class _Node:
    native: str
    device: HomieDevice | None = None
    held: dict[str, MqttMessage] = field(default_factory=dict)
    values: dict[tuple[str, str], Any] = field(default_factory=dict)  # last DHI value per Homie property
    waiters: dict[tuple[str, str], list[asyncio.Future[Any]]] = field(default_factory=dict)


class HomieAdapter(MqttAdapterShell[HomieConfig]):
    name: ClassVar[str] = "homie"
    config_model: ClassVar[type[BaseModel]] = HomieConfig

    def __init__(self, config: HomieConfig) -> None:
        super().__init__(config)
        self._nodes: dict[str, _Node] = {}
        self._root = f"{config.prefix}/5"

    def __repr__(self) -> str:
        return f"<HomieAdapter {self._root} devices={sum(1 for n in self._nodes.values() if n.device)}>"

    # ------------------------------------------------------------------ lifecycle

    def _subscriptions(self) -> Iterable[tuple[str, MessageCallback]]:
        # $description first: values and $state replayed before it are held anyway
        for pattern in (f"{self._root}/+/$description", f"{self._root}/+/$state", f"{self._root}/+/+/+"):
            yield pattern, self.handle

    def _published_device_ids(self) -> Iterable[str]:
        # on reconnect the retained $state replays after re-subscribing
        return (n.device.description.id for n in self._nodes.values() if n.device is not None)

    def _cancel_waiters(self) -> None:
        for node in self._nodes.values():
            for futs in node.waiters.values():
                for fut in futs:
                    fut.cancel()

    # ------------------------------------------------------------------ incoming

    def handle(self, msg: MqttMessage) -> None:
        levels = msg.topic.split("/")
        base = len(self._root.split("/"))
        rest = levels[base:]
        if not rest or rest[0] == "$broadcast":
            return
        native = rest[0]
        if len(rest) == 2 and rest[1] == "$description":
            self._on_description(native, msg)
        elif len(rest) == 2 and rest[1] == "$state":
            self._on_state(native, msg)
        elif len(rest) == 3 and not rest[1].startswith("$") and not rest[2].startswith("$"):
            self._on_value(native, rest[1], rest[2], msg)

    def _node(self, native: str, msg: MqttMessage) -> _Node | None:
        node = self._nodes.get(native)
        if node is None:
            if len(self._nodes) >= self.config.max_pending_devices:
                self._invalid(msg, "too many Homie devices; message dropped")
                return None
            node = self._nodes[native] = _Node(native)
        return node

    def _on_description(self, native: str, msg: MqttMessage) -> None:
        ctx = self._require_ctx()
        node = self._node(native, msg)
        if node is None:
            return
        if not msg.payload:  # cleared retained $description: the device is gone
            if node.device is not None:
                ctx.remove_device(node.device.description.id)
            self._nodes.pop(native, None)
            return
        try:
            device = describe(native, parse_description(decode_json(msg.payload)), ctx.adapter)
        except PayloadError as exc:
            self._invalid(msg, str(exc))
            return
        except ValueError as exc:  # a device id that cannot be a DHI id, bad vendor definition
            self._invalid(msg, f"$description cannot be mapped: {exc}")
            return
        for warning in device.warnings:
            ctx.logger.warning("homie %s: %s", native, warning)
        for feature in device.features.unmapped:
            ctx.logger.info("homie %s: %s not mapped: %s", native, feature.feature, feature.reason)
        if not ctx.publish_device(device.description):
            return
        node.device = device
        # the topic names the device before decoding: its $state (or, for a safety or care
        # device, all of it) takes the safety lane (docs/ingestion.md)
        own = f"{self._root}/{native}"
        self._claim_device_lane(device.description, [f"{own}/#"], [f"{own}/$state"])
        held, node.held = node.held, {}
        for m in held.values():
            self.handle(m)

    def _on_state(self, native: str, msg: MqttMessage) -> None:
        node = self._node(native, msg)
        if node is None or not msg.payload:
            return
        text = msg.payload.decode("utf-8", errors="replace")
        if text not in STATES:
            self._invalid(msg, f"$state must be one of {', '.join(STATES)}, got {text[:40]!r}")
            return
        if node.device is None:
            self._hold(node, msg)
            return
        available, reason = STATES[text]
        self._require_ctx().set_available(node.device.description.id, available, reason)

    def _on_value(self, native: str, node_id: str, prop_id: str, msg: MqttMessage) -> None:
        node = self._node(native, msg)
        if node is None:
            return
        if node.device is None:
            self._hold(node, msg)
            return
        pm = node.device.props.get((node_id, prop_id))
        if pm is None or not msg.payload:
            return  # a property not in the description (or a cleared retained value)
        ctx = self._require_ctx()
        try:
            value = decode_value(pm, msg.payload)
        except PayloadError as exc:
            self._invalid(msg, f"{node_id}/{prop_id}: {exc}")
            return
        good, bad = checked(
            node.device.description.components, pm.component, pm.capability, {pm.property: value}, ctx.catalog
        )
        for reason in bad:
            self._invalid(msg, reason)
        if not good:
            return
        node.values[(node_id, prop_id)] = value
        ctx.publish_state(node.device.description.id, pm.capability, good, component=pm.component)
        for fut in node.waiters.pop((node_id, prop_id), []):
            if not fut.done():
                fut.set_result(value)

    def _hold(self, node: _Node, msg: MqttMessage) -> None:
        if msg.topic not in node.held and len(node.held) >= _MAX_HELD:
            self._invalid(msg, "too many messages for a device without $description")
            return
        node.held[msg.topic] = msg

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        return await run_command(cmd, self._execute)

    async def _execute(self, cmd: CommandRequest) -> dict[str, Any]:
        node = next(
            (n for n in self._nodes.values() if n.device and n.device.description.id == cmd.device), None
        )
        if node is None or node.device is None or self._conn is None:
            raise UnknownDevice(f"no Homie device {cmd.device!r}", field="device")
        writes: list[tuple[PropMap, Any]] = []
        if cmd.command == SET_COMMAND:
            for prop, value in cmd.params.items():
                writes.append((self._settable(node.device, cmd, prop), value))
        else:
            spec = COMMANDS.get((cmd.capability, cmd.command))
            if spec is None:
                raise Unsupported(
                    f"Homie devices do not support {cmd.capability}.{cmd.command}", field="command"
                )
            prop, compute = spec
            pm = self._settable(node.device, cmd, prop)
            writes.append((pm, compute(cmd.params, node.values.get((pm.node, pm.prop)))))
        confirmed: dict[str, Any] = {}
        for pm, value in writes:
            confirmed[pm.property] = await self._write(
                node, pm, value, cmd.timeout or self.config.command_timeout
            )
        return confirmed

    def _settable(self, device: HomieDevice, cmd: CommandRequest, prop: str) -> PropMap:
        pm = device.find(cmd.component, cmd.capability, prop)
        if pm is None:
            raise Unsupported(
                f"{cmd.component}/{cmd.capability}.{prop} is not on this device", field=f"params.{prop}"
            )
        if not pm.settable:
            raise NotWritable(f"{pm.node}/{pm.prop} is not settable", field=f"params.{prop}")
        return pm

    async def _write(self, node: _Node, pm: PropMap, value: Any, wait: float) -> Any:
        assert self._conn is not None and node.device is not None
        try:
            payload = encode_value(pm, value)
        except PayloadError as exc:
            raise InvalidParams(str(exc), field=f"params.{pm.property}") from None
        topic = f"{self._root}/{node.native}/{pm.node}/{pm.prop}/set"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if pm.retained:
            node.waiters.setdefault((pm.node, pm.prop), []).append(fut)
        try:
            async with asyncio.timeout(wait):
                # /set is never retained (Homie §QoS); QoS 1 so the broker confirms it
                await self._conn.publish(topic, payload, qos=1, retain=False)
                if not pm.retained:
                    return value  # momentary property: the device sends no state back
                return await fut
        except TimeoutError:
            raise CommandTimeout(
                f"{node.device.description.id} did not report {pm.node}/{pm.prop} after /set"
            ) from None
        except MqttError as exc:
            raise AdapterError(f"could not publish {topic}: {exc}") from None
        finally:
            futs = node.waiters.get((pm.node, pm.prop), [])
            if fut in futs:
                futs.remove(fut)

    # ------------------------------------------------------------------ helpers

    def _invalid(self, msg: MqttMessage, reason: str) -> None:
        self._require_ctx().report_invalid(reason, source=msg.topic, payload=msg.payload[:200])

    # ------------------------------------------------------------------ offline check

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        """A ``$description`` JSON, ``{"id": <device id>, "description": {...}}``, or a list."""
        items = data if isinstance(data, list) else [data]
        return [_map_one(i, item, cls.name) for i, item in enumerate(items)]


def _map_one(index: int, item: Any, instance: str) -> DeviceMapping:
    native = f"device-{index}"
    if isinstance(item, dict) and "description" in item and "homie" not in item:
        native = str(item.get("id") or native)
        item = item["description"]
    try:
        device = describe(native, parse_description(item), instance)
    except (PayloadError, ValueError) as exc:
        return DeviceMapping.unreadable(
            f"{instance}:invalid-{index}", "unreadable Homie $description", "$description", str(exc)
        )
    return device.features.report(device.description).model_copy(update={"warnings": device.warnings})
