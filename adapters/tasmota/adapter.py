"""The Tasmota adapter: native discovery (``SetOption19 0``) and the tele/stat/cmnd topics.

A device announces itself with retained ``tasmota/discovery/<MAC>/config`` and ``…/sensors``;
the adapter then follows ``tele/<t>/LWT|STATE|SENSOR`` and ``stat/<t>/RESULT|POWER<n>``, and
commands it with ``cmnd/<t>/<Command>``, taking the matching ``stat/<t>/RESULT`` as the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.sdk import AdapterContext, DeviceMapping
from adapters.sdk.commands import run_command
from adapters.sdk.mqtt import (
    BrokerSettings,
    MessageCallback,
    MqttConnection,
    MqttError,
    MqttMessage,
    PayloadError,
    Unsubscribe,
    decode_json,
    decode_json_object,
)
from adapters.sdk.mqtt.describe import checked
from adapters.sdk.mqtt.lanes import lane_option
from adapters.sdk.mqtt.shell import MqttAdapterShell
from adapters.tasmota.mapping import COMMANDS, CommandRow, Part
from adapters.tasmota.model import (
    Decoded,
    DiscoveryConfig,
    TasmotaDevice,
    decode_sensor,
    decode_state,
    describe,
    parse_config,
)
from dhi.errors import AdapterError, CommandTimeout, InvalidParams, UnknownDevice, Unsupported
from dhi.models import CommandRequest, CommandResult
from dhi.models.command import SET_COMMAND

TELE, STAT, CMND = 2, 1, 0  # indexes into the discovery config's ``tp``


class TasmotaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    discovery_prefix: Annotated[str, Field(pattern=r"^[^#+\s]+$")] = "tasmota/discovery"
    command_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    max_devices: Annotated[int, Field(ge=1)] = 1000
    safety_lane: bool = lane_option()


@dataclass
class _Waiter:
    keys: frozenset[str]
    future: asyncio.Future[dict[str, Any]]


@dataclass
class _Node:
    mac: str
    config: DiscoveryConfig | None = None
    sensors: dict[str, Any] | None = None
    device: TasmotaDevice | None = None
    unsubscribe: list[Unsubscribe] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiter: _Waiter | None = None
    #: set once the device's own topics are subscribed: a command before that could miss its RESULT
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class TasmotaAdapter(MqttAdapterShell[TasmotaConfig]):
    name: ClassVar[str] = "tasmota"
    config_model: ClassVar[type[BaseModel]] = TasmotaConfig

    def __init__(self, config: TasmotaConfig) -> None:
        super().__init__(config)
        self._nodes: dict[str, _Node] = {}  # MAC (upper case) -> node

    def __repr__(self) -> str:
        return f"<TasmotaAdapter devices={sum(1 for n in self._nodes.values() if n.device)}>"

    # ------------------------------------------------------------------ lifecycle

    def _opened(self, conn: MqttConnection, ctx: AdapterContext) -> None:
        self._stack.callback(self._drop_device_subscriptions)

    def _subscriptions(self) -> Iterable[tuple[str, MessageCallback]]:
        base = self.config.discovery_prefix
        return ((f"{base}/+/config", self.handle_discovery), (f"{base}/+/sensors", self.handle_discovery))

    def _published_device_ids(self) -> Iterable[str]:
        # on reconnect the retained LWT ("Online") replays after re-subscribing
        return (n.device.description.id for n in self._nodes.values() if n.device is not None)

    def _cancel_waiters(self) -> None:
        for node in self._nodes.values():
            if node.waiter is not None and not node.waiter.future.done():
                node.waiter.future.cancel()

    def _drop_device_subscriptions(self) -> None:
        for node in self._nodes.values():
            for unsub in node.unsubscribe:
                unsub()
            node.unsubscribe.clear()

    # ------------------------------------------------------------------ discovery

    async def handle_discovery(self, msg: MqttMessage) -> None:
        """``<discovery_prefix>/<MAC>/config`` or ``…/sensors``."""
        ctx = self._require_ctx()
        levels = msg.topic.split("/")
        mac, kind = levels[-2].upper(), levels[-1]
        if not msg.payload:  # a cleared retained config: the device was removed
            gone = self._nodes.get(mac)
            if kind == "config" and gone is not None:
                await self._forget(gone)
            return
        cfg: DiscoveryConfig | None = None
        sn: Any = None
        try:
            data = decode_json_object(msg.payload)
            if kind == "config":
                cfg = parse_config(data)
                if cfg.mac.upper() != mac:
                    raise PayloadError(f"mac: {cfg.mac!r} does not match the topic's {mac!r}")
            else:
                sn = data.get("sn")
                if not isinstance(sn, dict):
                    raise PayloadError("sensors: 'sn' must be an object (the last tele/SENSOR)")
        except PayloadError as exc:
            self._invalid(msg, str(exc))
            return
        node = self._nodes.get(mac)
        if node is None:
            if len(self._nodes) >= self.config.max_devices:
                self._invalid(msg, f"more than {self.config.max_devices} Tasmota devices; ignored")
                return
            node = self._nodes[mac] = _Node(mac)
        if cfg is not None:
            node.config = cfg
        else:
            node.sensors = sn
        if node.config is None:
            return  # sensors before config: kept until the config arrives
        device = describe(node.config, node.sensors, ctx.adapter)
        if (
            node.device is not None
            and node.device.description == device.description
            and node.device.config == node.config
        ):
            return
        topics_changed = node.device is None or node.device.config.topic(TELE, "") != device.config.topic(
            TELE, ""
        )
        if not ctx.publish_device(device.description):
            return
        node.device = device
        if topics_changed:
            await self._subscribe_device(node)
        if node.sensors:
            self._apply(device, decode_sensor(device, node.sensors), f"{msg.topic}")

    async def _subscribe_device(self, node: _Node) -> None:
        node.ready.clear()
        for unsub in node.unsubscribe:
            unsub()
        node.unsubscribe.clear()
        if self._conn is None or node.device is None:
            return
        cfg = node.device.config
        # stat/<t>/+ covers RESULT and POWER<n>
        topics = [
            cfg.topic(TELE, "LWT"),
            cfg.topic(TELE, "STATE"),
            cfg.topic(TELE, "SENSOR"),
            cfg.topic(STAT, "+"),
        ]
        handler = self._handler(node)
        for topic in topics:
            node.unsubscribe.append(await self._subscribe_device_topic(topic, handler))
        # the topic names the device before decoding: its LWT (or, for a safety or care
        # device, all of it) takes the safety lane (docs/ingestion.md)
        self._claim_device_lane(node.device.description, topics, topics[:1], handler)
        node.ready.set()

    def _handler(self, node: _Node) -> Any:
        def on_message(msg: MqttMessage) -> None:
            self.handle_device(node.mac, msg)

        return on_message

    async def _forget(self, node: _Node) -> None:
        for unsub in node.unsubscribe:
            unsub()
        node.unsubscribe.clear()
        if node.device is not None:
            self._require_ctx().remove_device(node.device.description.id)
        self._nodes.pop(node.mac, None)

    # ------------------------------------------------------------------ device topics

    def handle_device(self, mac: str, msg: MqttMessage) -> None:
        node = self._nodes.get(mac)
        device = node.device if node else None
        if node is None or device is None:
            return
        cfg = device.config
        ctx = self._require_ctx()
        if msg.topic == cfg.topic(TELE, "LWT"):
            text = msg.payload.decode("utf-8", errors="replace")
            if text not in (cfg.onln, cfg.ofln):
                self._invalid(msg, f"LWT must be {cfg.onln!r} or {cfg.ofln!r}, got {text[:40]!r}")
                return
            ctx.set_available(device.description.id, text == cfg.onln, f"LWT {text}")
            return
        suffix = msg.topic.rsplit("/", 1)[-1]
        if msg.topic == cfg.topic(STAT, suffix) and suffix.startswith("POWER"):
            # plain "ON"/"OFF" on stat/<t>/POWER<n>
            self._apply_json(
                device, {suffix: msg.payload.decode("utf-8", errors="replace")}, msg, decode_state
            )
            return
        if msg.topic not in (cfg.topic(TELE, "STATE"), cfg.topic(TELE, "SENSOR"), cfg.topic(STAT, "RESULT")):
            return  # stat/<t>/STATUS…, UPGRADE, … carry nothing we map
        try:
            data = decode_json(msg.payload)
        except PayloadError as exc:
            self._invalid(msg, str(exc))
            return
        if not isinstance(data, dict):
            self._invalid(msg, f"payload must be a JSON object, got {type(data).__name__}")
            return
        if msg.topic.endswith("/SENSOR"):
            self._apply(device, decode_sensor(device, data), msg.topic)
            return
        if msg.topic == cfg.topic(STAT, "RESULT"):
            waiter = node.waiter
            if (
                waiter is not None
                and not waiter.future.done()
                and (waiter.keys & data.keys() or "Command" in data)
            ):
                waiter.future.set_result(data)
        self._apply_json(device, data, msg, decode_state)

    def _apply_json(self, device: TasmotaDevice, data: dict[str, Any], msg: MqttMessage, decode: Any) -> None:
        self._apply(device, decode(device, data), msg.topic)

    def _apply(self, device: TasmotaDevice, decoded: Decoded, source: str) -> None:
        ctx = self._require_ctx()
        errors = list(decoded.errors)
        for (comp, cap), props in decoded.reports.items():
            good, bad = checked(device.description.components, comp, cap, props, ctx.catalog)
            errors.extend(bad)
            if good:
                ctx.publish_state(device.description.id, cap, good, component=comp)
        for comp, cap, event, payload in decoded.events:
            ctx.publish_event(device.description.id, cap, event, payload, component=comp)
        for reason in errors:
            ctx.report_invalid(reason, source=source)

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        return await run_command(cmd, self._execute)

    async def _execute(self, cmd: CommandRequest) -> dict[str, Any]:
        node = next(
            (n for n in self._nodes.values() if n.device and n.device.description.id == cmd.device), None
        )
        if node is None or node.device is None or self._conn is None:
            raise UnknownDevice(f"no Tasmota device {cmd.device!r}", field="device")
        part = node.device.parts.get(cmd.component)
        if part is None:
            raise Unsupported(f"component {cmd.component!r} takes no commands", field="component")
        if cmd.command == SET_COMMAND:
            steps = [
                (row, {k: v})
                for k, v in cmd.params.items()
                for row in _rows(part.kind, cmd.capability, f"set:{k}")
            ]
        else:
            steps = [(row, cmd.params) for row in _rows(part.kind, cmd.capability, cmd.command)]
        answer: dict[str, Any] = {}
        wait = cmd.timeout or self.config.command_timeout
        try:
            async with asyncio.timeout(wait):
                await node.ready.wait()
        except TimeoutError:
            raise CommandTimeout(f"{cmd.device}: its topics are not subscribed yet") from None
        async with node.lock:  # Tasmota answers carry no request id: one command at a time
            for row, params in steps:
                answer = await self._send(node, row, part, params, cmd.timeout or self.config.command_timeout)
        return answer

    async def _send(
        self, node: _Node, row: CommandRow, part: Part, params: dict[str, Any], wait: float
    ) -> dict[str, Any]:
        assert node.device is not None and self._conn is not None
        names = {"n": part.number, "level": part.level_command, "level_state": part.level_state}
        command = row.tasmota.format(**names)
        keys = frozenset(k.format(**names) for k in row.confirm)
        payload = row.payload(params, part)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        node.waiter = _Waiter(keys, fut)
        topic = node.device.config.topic(CMND, command)
        try:
            async with asyncio.timeout(wait):
                await self._conn.publish(topic, payload)
                answer = await fut
        except TimeoutError:
            raise CommandTimeout(f"no stat/RESULT for {command} from {node.device.description.id}") from None
        except MqttError as exc:
            raise AdapterError(f"could not send {command}: {exc}") from None
        finally:
            node.waiter = None
        if answer.get("Command") == "Unknown":
            raise Unsupported(f"the device does not know the command {command}", field="command")
        if answer.get("Command") == "Error":
            raise InvalidParams(f"the device refused {command} {payload!r}", field="params")
        return answer

    # ------------------------------------------------------------------ helpers

    def _invalid(self, msg: MqttMessage, reason: str) -> None:
        self._require_ctx().report_invalid(reason, source=msg.topic, payload=msg.payload[:200])

    # ------------------------------------------------------------------ offline check

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        """A discovery config, ``{"config": …, "sensors": …}``, or a list of those (a sensors
        document — ``{"sn": …}`` — right after a config belongs to it)."""
        items = data if isinstance(data, list) else [data]
        pairs: list[tuple[Any, Any]] = []
        for item in items:
            if isinstance(item, dict) and "config" in item:
                pairs.append((item["config"], item.get("sensors")))
            elif isinstance(item, dict) and "sn" in item and pairs and pairs[-1][1] is None:
                pairs[-1] = (pairs[-1][0], item)
            else:
                pairs.append((item, None))
        return [_map_one(i, cfg, sensors, cls.name) for i, (cfg, sensors) in enumerate(pairs)]


def _rows(kind: str, capability: str, command: str) -> list[CommandRow]:
    rows = [r for r in COMMANDS if (r.kind, r.capability, r.command) == (kind, capability, command)]
    if not rows:
        what = command.removeprefix("set:")
        raise Unsupported(f"a Tasmota {kind} cannot {what!r} on {capability}", field="command")
    return rows


def _map_one(index: int, raw_cfg: Any, raw_sensors: Any, instance: str) -> DeviceMapping:
    try:
        cfg = parse_config(raw_cfg)
        sn = raw_sensors.get("sn") if isinstance(raw_sensors, dict) else None
        device = describe(cfg, sn if isinstance(sn, dict) else None, instance)
    except PayloadError as exc:
        return DeviceMapping.unreadable(
            f"{instance}:invalid-{index}", "unreadable Tasmota discovery config", "config", str(exc)
        )
    return device.features.report(device.description)
