"""The Shelly Gen2+ adapter: devices speaking Shelly's JSON-RPC over MQTT.

A device is found by its retained ``<prefix>/online`` = ``true`` (or a notification) and
probed with ``Shelly.GetDeviceInfo``, ``Shelly.GetConfig`` and ``Shelly.GetStatus``; after
that ``NotifyStatus``/``NotifyFullStatus`` keep its state and ``NotifyEvent`` its events.
Commands become RPC calls on ``<prefix>/rpc``, answered on ``<src>/rpc``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
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
)
from adapters.sdk.mqtt.describe import checked
from adapters.sdk.mqtt.lanes import lane_option
from adapters.sdk.mqtt.shell import MqttAdapterShell
from adapters.shelly.mapping import COMMANDS, rpc_error
from adapters.shelly.model import ShellyDevice, describe, event, states
from adapters.shelly.rpc import Notification, RpcClient, RpcError, parse_notification
from dhi.errors import AdapterError, CommandTimeout, UnknownDevice, Unsupported
from dhi.models import CommandRequest, CommandResult
from dhi.models.command import SET_COMMAND


class ShellyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    devices: list[Annotated[str, Field(pattern=r"^[^#+\s]+$")]] = Field(
        default_factory=list, description="topic prefixes of devices (a device's mqtt.topic_prefix)"
    )
    discover: bool = Field(
        default=True, description="also find devices on '+/online' and '+/events/rpc' (one-level prefixes)"
    )
    src: Annotated[str, Field(pattern=r"^[^#+\s]+$")] | None = Field(
        default=None,
        description="our RPC source id; replies come on '<src>/rpc' (default dhome-<instance>-<random>)",
    )
    rpc_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    max_devices: Annotated[int, Field(ge=1)] = Field(
        default=1000, description="bound on tracked topic prefixes"
    )
    safety_lane: bool = lane_option()


_MAX_HELD = 100


@dataclass
class _Entry:
    prefix: str
    device: ShellyDevice | None = None
    probe: asyncio.Task[None] | None = None
    #: notifications that arrived while a probe was reading the device: applied after the
    #: probe's status, which is older than they are
    held: deque[tuple[Notification, MqttMessage]] = field(default_factory=lambda: deque(maxlen=_MAX_HELD))


class ShellyAdapter(MqttAdapterShell[ShellyConfig]):
    name: ClassVar[str] = "shelly"
    config_model: ClassVar[type[BaseModel]] = ShellyConfig

    def __init__(self, config: ShellyConfig) -> None:
        super().__init__(config)
        self._rpc: RpcClient | None = None
        self._entries: dict[str, _Entry] = {}  # topic prefix -> device

    def __repr__(self) -> str:
        known = sum(1 for e in self._entries.values() if e.device is not None)
        return f"<ShellyAdapter devices={known} prefixes={len(self._entries)}>"

    # ------------------------------------------------------------------ lifecycle

    def _opened(self, conn: MqttConnection, ctx: AdapterContext) -> None:
        src = self.config.src or f"dhome-{ctx.adapter}-{secrets.token_hex(3)}"
        self._rpc = RpcClient(conn, src, self._invalid)
        self._stack.callback(self._cancel_probes)
        self._stack.callback(self._rpc.cancel_all)

    def _subscriptions(self) -> Iterable[tuple[str, MessageCallback]]:
        assert self._rpc is not None  # made by _opened
        yield self._rpc.reply_topic, self._rpc.on_reply
        for pattern in self._patterns():
            yield pattern, self.handle

    def _published_device_ids(self) -> Iterable[str]:
        # on reconnect the retained '<prefix>/online' replay re-probes each device
        return (e.device.description.id for e in self._entries.values() if e.device is not None)

    async def stop(self) -> None:
        await super().stop()
        self._rpc = None

    def _patterns(self) -> list[str]:
        prefixes = list(self.config.devices) + (["+"] if self.config.discover else [])
        return [f"{p}/{suffix}" for p in prefixes for suffix in ("online", "events/rpc")]

    def _cancel_probes(self) -> None:
        for entry in self._entries.values():
            if entry.probe is not None:
                entry.probe.cancel()

    # ------------------------------------------------------------------ incoming

    def handle(self, msg: MqttMessage) -> None:
        """One message on ``<prefix>/online`` or ``<prefix>/events/rpc``."""
        if msg.topic.endswith("/online"):
            self._on_online(msg.topic.removesuffix("/online"), msg)
        elif msg.topic.endswith("/events/rpc"):
            self._on_notification(msg.topic.removesuffix("/events/rpc"), msg)

    def _on_online(self, prefix: str, msg: MqttMessage) -> None:
        text = msg.payload.decode("utf-8", errors="replace")
        if text not in ("true", "false"):
            if self._is_ours(prefix):
                self._invalid(msg, f"online must be 'true' or 'false', got {text[:40]!r}")
            return  # some other system's '<x>/online' topic
        ctx = self._require_ctx()
        if text == "false":
            known = self._entries.get(prefix)
            if known is not None and known.device is not None:
                ctx.set_available(known.device.description.id, False, "device reported offline")
            return
        entry = self._entry(prefix, msg)
        if entry is None:
            return
        if entry.device is not None:
            # the device says it is online (its retained, LWT-backed flag): believe it now;
            # the probe below only refreshes state that may have changed meanwhile
            ctx.set_available(entry.device.description.id, True, "device reported online")
        self._probe(entry, restart=True)

    def _on_notification(self, prefix: str, msg: MqttMessage) -> None:
        try:
            note = parse_notification(msg.payload)
        except PayloadError as exc:
            self._invalid(msg, str(exc))
            return
        entry = self._entry(prefix, msg)
        if entry is None:
            return
        if entry.probe is not None and not entry.probe.done():
            entry.held.append((note, msg))
            return
        self._apply_notification(entry, note, msg)

    def _apply_notification(self, entry: _Entry, note: Notification, msg: MqttMessage) -> None:
        ctx = self._require_ctx()
        device = entry.device
        if device is None:
            self._probe(entry)  # first sign of this device: its full status comes from the probe
            return
        dev_id = device.description.id
        if note.method == "NotifyEvent":
            for item in note.params["events"]:
                try:
                    mapped = event(device, item)
                except PayloadError as exc:
                    self._invalid(msg, str(exc))
                    continue
                if mapped is not None:
                    comp, cap, name, payload = mapped
                    ctx.publish_event(dev_id, cap, name, payload, component=comp)
            return
        if note.method == "NotifyFullStatus" and set(note.params) - {"ts"} != device.status_keys:
            self._probe(entry)  # the set of components changed: describe the device again
            return
        self._publish_states(device, note.params, msg)

    def _publish_states(
        self, device: ShellyDevice, status: Mapping[str, Any], msg: MqttMessage | None
    ) -> None:
        ctx = self._require_ctx()
        result = states(device, status)
        errors = list(result.errors)
        for (comp, cap), props in result.reports.items():
            good, bad = checked(device.description.components, comp, cap, props, ctx.catalog)
            errors.extend(bad)
            if good:
                ctx.publish_state(device.description.id, cap, good, component=comp)
        for reason in errors:
            if msg is not None:
                self._invalid(msg, reason)
            else:
                ctx.report_invalid(reason, source=f"{device.native} Shelly.GetStatus")

    # ------------------------------------------------------------------ probing

    def _probe(self, entry: _Entry, *, restart: bool = False) -> None:
        """Read the device; ``restart``: a fresh 'online' means the device just (re)connected
        and may have missed the requests of a probe still waiting — start over."""
        if entry.probe is not None and not entry.probe.done():
            if not restart:
                return
            entry.probe.cancel()
        entry.probe = asyncio.get_running_loop().create_task(
            self._run_probe(entry), name=f"shelly-probe {entry.prefix}"
        )

    async def _run_probe(self, entry: _Entry) -> None:
        await self._read_device(entry)
        while entry.held:  # not reached when cancelled: the probe that replaced it replays them
            self._apply_notification(entry, *entry.held.popleft())

    async def _read_device(self, entry: _Entry) -> None:
        ctx, rpc = self._require_ctx(), self._rpc
        if rpc is None:
            return
        wait = self.config.rpc_timeout
        try:
            info = await rpc.call(entry.prefix, "Shelly.GetDeviceInfo", wait=wait)
            config = await rpc.call(entry.prefix, "Shelly.GetConfig", wait=wait)
            status = await rpc.call(entry.prefix, "Shelly.GetStatus", wait=wait)
            for what, value in (
                ("Shelly.GetDeviceInfo", info),
                ("Shelly.GetConfig", config),
                ("Shelly.GetStatus", status),
            ):
                if not isinstance(value, dict):
                    raise PayloadError(f"{what} result must be an object")
            device = describe(info, config, status, ctx.adapter)
        except TimeoutError:
            ctx.logger.info("no RPC answer from %r: not a Shelly Gen2+ device, or offline", entry.prefix)
            return
        except (RpcError, MqttError) as exc:
            ctx.logger.warning("probing Shelly device %r failed: %s", entry.prefix, exc)
            return
        except PayloadError as exc:
            ctx.report_invalid(str(exc), source=f"{entry.prefix}/rpc")
            return
        if not ctx.publish_device(device.description):
            return
        entry.device = device
        # the prefix names the device before decoding: its 'online' (or, for a safety or care
        # device such as a Plus Smoke, all of it) takes the safety lane (docs/ingestion.md)
        own = [f"{entry.prefix}/online", f"{entry.prefix}/events/rpc"]
        self._claim_device_lane(device.description, own, own[:1])
        self._publish_states(device, status, None)
        ctx.set_available(device.description.id, True, "device online")

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        return await run_command(cmd, self._execute)

    async def _execute(self, cmd: CommandRequest) -> dict[str, Any] | None:
        entry = next(
            (
                e
                for e in self._entries.values()
                if e.device is not None and e.device.description.id == cmd.device
            ),
            None,
        )
        if entry is None or entry.device is None or self._rpc is None:
            raise UnknownDevice(f"no Shelly device {cmd.device!r}", field="device")
        part = entry.device.parts.get(cmd.component)
        if part is None:
            raise Unsupported(f"component {cmd.component!r} takes no commands", field="component")
        calls = []
        if cmd.command == SET_COMMAND:
            for prop, value in cmd.params.items():
                row = _command_row(part.kind, cmd.capability, f"set:{prop}")
                calls.append((row.method, row.params(part.index, {prop: value})))
        else:
            row = _command_row(part.kind, cmd.capability, cmd.command)
            calls.append((row.method, row.params(part.index, cmd.params)))
        result: Any = None
        for method, params in calls:
            try:
                result = await self._rpc.call(
                    entry.prefix, method, params, wait=cmd.timeout or self.config.rpc_timeout
                )
            except TimeoutError:
                raise CommandTimeout(f"{cmd.device} did not answer {method}") from None
            except RpcError as exc:
                raise rpc_error(exc.code, exc.message) from None
            except MqttError as exc:
                raise AdapterError(f"could not send {method} to {cmd.device}: {exc}") from None
        return result if isinstance(result, dict) else None

    # ------------------------------------------------------------------ helpers

    def _entry(self, prefix: str, msg: MqttMessage) -> _Entry | None:
        entry = self._entries.get(prefix)
        if entry is None:
            if len(self._entries) >= self.config.max_devices:
                self._invalid(msg, f"more than {self.config.max_devices} Shelly prefixes seen; ignored")
                return None
            entry = self._entries[prefix] = _Entry(prefix)
        return entry

    def _is_ours(self, prefix: str) -> bool:
        return prefix in self.config.devices or (
            prefix in self._entries and self._entries[prefix].device is not None
        )

    def _invalid(self, msg: MqttMessage, reason: str) -> None:
        payload: Any = msg.payload[:200]
        self._require_ctx().report_invalid(reason, source=msg.topic, payload=payload)

    # ------------------------------------------------------------------ offline check

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        """A Gen2 device dump (``shelly``/``config``/``status``), a ``Shelly.GetStatus`` reply
        (+ ``Shelly.GetConfig`` / ``Shelly.GetDeviceInfo`` under those keys), or a list of them."""
        return [map_dump(item, cls.name) for item in (data if isinstance(data, list) else [data])]


def _command_row(kind: str, capability: str, command: str) -> Any:
    row = next(
        (r for r in COMMANDS if (r.kind, r.capability, r.command) == (kind, capability, command)), None
    )
    if row is None:
        what = command.removeprefix("set:")
        raise Unsupported(
            f"a Shelly {kind} cannot {'set ' + what if command.startswith('set:') else what!r} on {capability}",
            field="params." + what if command.startswith("set:") else "command",
        )
    return row


def map_dump(data: Any, instance: str) -> DeviceMapping:
    if not isinstance(data, dict):
        return _failed(0, f"expected a JSON object, got {type(data).__name__}")
    status = data.get("status", data.get("Shelly.GetStatus"))
    config = data.get("config", data.get("Shelly.GetConfig"))
    info = data.get("shelly", data.get("Shelly.GetDeviceInfo"))
    if status is None and "sys" in data:
        status = data  # a bare Shelly.GetStatus reply
    if not isinstance(status, dict):
        return _failed(0, "no status found (expected 'status' or 'Shelly.GetStatus')")
    if not isinstance(info, dict):
        # a bare status still maps; its identity comes from sys.mac
        mac = (status.get("sys") or {}).get("mac") if isinstance(status.get("sys"), dict) else None
        info = {"id": f"shelly-{str(mac or 'unknown').lower()}", "gen": 2}
    try:
        device = describe(info, config if isinstance(config, dict) else None, status, instance)
    except PayloadError as exc:
        return _failed(0, str(exc))
    return device.features.report(device.description)


def _failed(index: int, reason: str) -> DeviceMapping:
    return DeviceMapping.unreadable(f"shelly:invalid-{index}", "unreadable Shelly data", "document", reason)
