"""The DHI-MQTT adapter: DHI-native devices on an MQTT broker (BINDING.md).

Devices publish their own DHI documents; this shell checks them (models + catalog), turns
topic segments into hub device ids (``<instance>:<device>``), and carries commands to
``.../cmd`` and results back from ``.../cmd/result``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from pydantic import BaseModel

from adapters.dhi_mqtt.config import DhiMqttConfig
from adapters.dhi_mqtt.mapping import AVAILABILITY, Kind, device_filter, topic
from adapters.dhi_mqtt.validate import Invalid, parse, shown
from adapters.sdk import AdapterContext, DeviceMapping, PropertyClaims, Unmapped
from adapters.sdk.mqtt import (
    MessageCallback,
    MqttError,
    MqttMessage,
    encode_json,
    matches,
)
from adapters.sdk.mqtt.shell import MqttAdapterShell
from dhi.catalog import Catalog, default_catalog
from dhi.checks import check_description, check_event_report, check_state_report
from dhi.errors import AdapterError, CommandTimeout, Conflict, HubError, UnknownDevice
from dhi.models import (
    CommandRequest,
    CommandResult,
    CommandStatus,
    DeviceDescription,
    EventReport,
    StateReport,
)
from dhi.models.common import DEVICE_ID
from dhi.models.device import CapabilityInstance
from dhi.models.limits import RATE_BURST, RATE_LIMITED, RATE_PER_SECOND, TokenBucket, payload_limit
from dhi.priority import is_priority_device, priority_capabilities

_NATIVE = re.compile(r"^[^\s/#+]+$")
_MAX_EARLY_TOPICS = 256  # per device, while its desc is missing


class DhiMqttAdapter(MqttAdapterShell[DhiMqttConfig]):
    name: ClassVar[str] = "dhi_mqtt"
    config_model: ClassVar[type[BaseModel]] = DhiMqttConfig
    #: the rate limit's clock (seconds; tests replace it to make time stand still)
    monotonic: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, config: DhiMqttConfig) -> None:
        super().__init__(config)
        self._home = config.home or ""
        self._devices: dict[str, DeviceDescription] = {}  # native id -> description as registered
        self._early: dict[str, dict[str, MqttMessage]] = {}  # native id -> topic -> held message
        self._pending: dict[tuple[str, str], asyncio.Future[CommandResult]] = {}
        self._buckets: dict[str, TokenBucket] = {}  # native id -> its state/event rate (R12.2-4)
        self._routes = tuple(
            (kind, self._guarded(kind, handler))
            for kind, handler in (
                # results first: a command must never be published before its answer can be heard
                (Kind.RESULT, self._on_result),
                (Kind.DESC, self._on_desc),
                (Kind.AVAIL, self._on_avail),
                (Kind.STATE, self._on_state),
                (Kind.EVENT, self._on_event),
            )
        )

    def __repr__(self) -> str:
        return f"<DhiMqttAdapter {self.config.prefix}/{self._home or '?'} devices={len(self._devices)}>"

    # ------------------------------------------------------------------ lifecycle

    def bind(self, ctx: AdapterContext) -> None:
        """Attach the hub context without connecting (``start`` does it; tests feed ``handle``)."""
        super().bind(ctx)
        self._home = self.config.home or ctx.home

    def handle(self, msg: MqttMessage) -> None:
        """Route one received message to its handler by topic (what the subscriptions do)."""
        for kind, handler in self._handlers():
            if matches(device_filter(self.config.prefix, self._home, kind), msg.topic):
                handler(msg)
                return

    def _handlers(self) -> tuple[tuple[Kind, MessageCallback], ...]:
        return self._routes

    def _guarded(self, kind: Kind, handler: MessageCallback) -> MessageCallback:
        """``handler`` behind the binding's limits: a payload over its size limit (R12.2-3) is
        rejected unread; a live state/event beyond the device's rate (R12.2-4) is dropped."""
        limit = payload_limit(kind.value)
        rated = kind.value in RATE_LIMITED

        def guarded(msg: MqttMessage) -> None:
            if len(msg.payload) > limit:
                self._invalid(
                    msg,
                    Invalid(
                        f"payload of {len(msg.payload)} bytes exceeds the limit of {limit} bytes",
                        expected=f"at most {limit} bytes (BINDING R12.2-3)",
                    ),
                )
                return
            # the broker's retained replay after a (re)subscribe is not the device's pace
            if rated and not msg.retain and not self._within_rate(msg):
                return
            handler(msg)

        return guarded

    def _within_rate(self, msg: MqttMessage) -> bool:
        levels = msg.topic.split("/")
        at = len(self.config.prefix.split("/")) + 1
        native = levels[at] if len(levels) > at else ""
        if native not in self._devices:
            return True  # held or refused by the handler; only registered devices have a bucket
        bucket = self._buckets.get(native)
        if bucket is None:
            bucket = self._buckets[native] = TokenBucket()
        if bucket.take(self.monotonic()):
            return True
        self._invalid(
            msg,
            Invalid(
                f"rate limit: more than {RATE_BURST} state/event messages at once or "
                f"{RATE_PER_SECOND:g} per second on average; message dropped",
                expected="BINDING R12.2-4",
            ),
        )
        return False

    def _subscriptions(self) -> Iterable[tuple[str, MessageCallback]]:
        for kind, handler in self._handlers():
            yield device_filter(self.config.prefix, self._home, kind), handler

    def _published_device_ids(self) -> Iterable[str]:
        # on reconnect the retained avail messages restore availability
        return (self._device_id(native) for native in self._devices)

    def _cancel_waiters(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        try:
            return await self._execute(cmd)
        except HubError as exc:
            return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=exc.info())

    async def _execute(self, cmd: CommandRequest) -> CommandResult:
        ctx, conn = self._ctx, self._conn
        if ctx is None or conn is None:
            raise AdapterError("the DHI-MQTT adapter is not running")
        native = self._native(cmd.device)
        if native is None or native not in self._devices:
            raise UnknownDevice(f"no DHI-MQTT device {cmd.device!r}", field="device")
        key = (native, cmd.id)
        if key in self._pending:
            raise Conflict(f"command {cmd.id!r} is already waiting for {cmd.device}", field="id")
        timeout = cmd.timeout or self.config.command_timeout
        fut: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        request = cmd.model_copy(update={"device": None, "timeout": timeout})
        try:
            async with asyncio.timeout(timeout):
                await conn.publish(
                    topic(self.config.prefix, self._home, native, Kind.CMD), encode_json(request.to_json())
                )
                result = await fut
        except TimeoutError:
            raise CommandTimeout(
                f"{cmd.device} sent no cmd/result for {cmd.id!r} within {timeout:g} s"
            ) from None
        except MqttError as exc:
            raise AdapterError(f"could not send the command to {cmd.device}: {exc}") from None
        finally:
            self._pending.pop(key, None)
        return result.model_copy(update={"device": cmd.device})

    # ------------------------------------------------------------------ incoming

    def _on_desc(self, msg: MqttMessage) -> None:
        ctx = self._require_ctx()
        native = self._segment(msg)
        if native is None:
            return
        device_id = self._device_id(native)
        if not msg.payload:
            # an empty retained desc clears the device (BINDING §3.1)
            self._buckets.pop(native, None)
            if self._devices.pop(native, None) is not None:
                ctx.remove_device(device_id)
            self._early.pop(native, None)
            return
        try:
            desc = parse(DeviceDescription, msg.payload)
            own = desc.id.split(":", 1)[1]
            if own != native:
                raise Invalid(
                    f"{desc.id!r} does not name the device of the topic",
                    field="id",
                    expected=f"'<scheme>:{native}', e.g. 'dhi:{native}'",
                )
            check_description(desc, ctx.catalog)
            desc = self._localise(desc)
        except (Invalid, HubError) as exc:
            self._invalid(msg, exc)
            return
        if not ctx.publish_device(desc):
            return  # the hub refused it and said why
        self._devices[native] = desc
        if is_priority_device(desc, priority_capabilities(ctx.catalog)):
            # every topic of a safety or care device takes the lane: its messages keep their order
            self._claim_lane([f"{self.config.prefix}/{self._home}/{native}/#"])
        for held in self._early.pop(native, {}).values():
            self._dispatch_held(held)

    def _on_state(self, msg: MqttMessage) -> None:
        native = self._segment(msg)
        if native is None or not msg.payload:
            return  # an empty retained state only clears the broker's copy
        desc = self._devices.get(native)
        if desc is None:
            self._hold(native, msg)
            return
        ctx = self._require_ctx()
        levels = msg.topic.split("/")
        component, capability = levels[-2], levels[-1]
        try:
            report = parse(StateReport, msg.payload)
            if (report.component, report.capability) != (component, capability):
                raise Invalid(
                    f"payload names {report.component}/{report.capability}, the topic {component}/{capability}",
                    field="component" if report.component != component else "capability",
                    expected=f"{component!r}/{capability!r} as in the topic",
                )
            check_state_report(desc, report.component, report.capability, report.properties, ctx.catalog)
        except (Invalid, HubError) as exc:
            self._invalid(msg, exc)
            return
        ctx.publish_state(
            self._device_id(native),
            report.capability,
            report.properties,
            component=report.component,
            time=report.time,
        )

    def _on_event(self, msg: MqttMessage) -> None:
        native = self._segment(msg)
        if native is None:
            return
        desc = self._devices.get(native)
        if desc is None:
            self._invalid(
                msg,
                Invalid("event from a device that has published no desc", expected="a retained desc first"),
            )
            return
        ctx = self._require_ctx()
        try:
            report = parse(EventReport, msg.payload)
            check_event_report(
                desc, report.component, report.capability, report.event, report.payload, catalog=ctx.catalog
            )
        except (Invalid, HubError) as exc:
            self._invalid(msg, exc)
            return
        ctx.publish_event(
            self._device_id(native),
            report.capability,
            report.event,
            report.payload,
            component=report.component,
            time=report.time,
        )

    def _on_avail(self, msg: MqttMessage) -> None:
        native = self._segment(msg)
        if native is None or not msg.payload:
            return
        text = msg.payload.decode("utf-8", errors="replace")
        if text not in AVAILABILITY:
            self._invalid(
                msg, Invalid(f"unknown availability {text[:40]!r}", expected="'online' or 'offline'")
            )
            return
        if native not in self._devices:
            self._hold(native, msg)
            return
        reason = "device reported online" if AVAILABILITY[text] else "device reported offline"
        self._require_ctx().set_available(self._device_id(native), AVAILABILITY[text], reason)

    def _on_result(self, msg: MqttMessage) -> None:
        native = self._segment(msg)
        if native is None:
            return
        try:
            result = parse(CommandResult, msg.payload)
        except Invalid as exc:
            self._invalid(msg, exc)
            return
        fut = self._pending.get((native, result.id))
        if fut is None:
            # late (after a timeout) or a retained leftover: nothing is waiting, not an error
            self._require_ctx().logger.info(
                "cmd/result %r from %s matches no waiting command", result.id, native
            )
            return
        if not fut.done():
            fut.set_result(result)

    # ------------------------------------------------------------------ helpers

    def _segment(self, msg: MqttMessage) -> str | None:
        """The ``<device>`` level of a topic, if it can be part of a device id."""
        levels = msg.topic.split("/")
        prefix_len = len(self.config.prefix.split("/")) + 1
        native = levels[prefix_len] if len(levels) > prefix_len else ""
        if (
            not _NATIVE.match(native)
            or not re.match(DEVICE_ID, self._device_id(native))
            or len(self._device_id(native)) > 200
        ):
            self._invalid(
                msg,
                Invalid(
                    f"device segment {native!r} cannot be a device id",
                    expected="no spaces, at most 200 characters",
                ),
            )
            return None
        return native

    def _device_id(self, native: str) -> str:
        return f"{self._require_ctx().adapter}:{native}"

    def _native(self, device_id: str | None) -> str | None:
        prefix = f"{self._require_ctx().adapter}:"
        if device_id is None or not device_id.startswith(prefix):
            return None
        return device_id[len(prefix) :]

    def _localise(self, desc: DeviceDescription) -> DeviceDescription:
        """The device's scheme becomes this adapter instance (BINDING §3.1)."""
        via = desc.via
        if via is not None:
            via = self._device_id(via.split(":", 1)[1])
        return desc.model_copy(
            update={
                "id": self._device_id(desc.id.split(":", 1)[1]),
                "adapter": self._require_ctx().adapter,
                "via": via,
            }
        )

    def _hold(self, native: str, msg: MqttMessage) -> None:
        """Keep retained state/avail that arrived before the desc (replay order is not fixed)."""
        held = self._early.get(native)
        if held is None:
            if len(self._early) >= self.config.max_pending_devices:
                self._invalid(
                    msg, Invalid("too many devices without a desc; message dropped", expected="a desc first")
                )
                return
            held = self._early[native] = {}
        if msg.topic not in held and len(held) >= _MAX_EARLY_TOPICS:
            self._invalid(
                msg, Invalid("too many topics held for a device without desc", expected="a desc first")
            )
            return
        held[msg.topic] = msg

    def _dispatch_held(self, msg: MqttMessage) -> None:
        if msg.topic.endswith("/avail"):
            self._on_avail(msg)
        else:
            self._on_state(msg)

    def _invalid(self, msg: MqttMessage, exc: Invalid | HubError) -> None:
        if isinstance(exc, HubError):
            exc = Invalid.from_hub(exc)
        self._require_ctx().report_invalid(str(exc), source=msg.topic, payload=shown(msg.payload))

    # ------------------------------------------------------------------ offline check

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        """``dhome adapters check dhi_mqtt FILE``: a device description or a list of them."""
        return map_descriptions(data, default_catalog(), cls.name)


def map_descriptions(data: Any, catalog: Catalog, instance: str) -> list[DeviceMapping]:
    items = data if isinstance(data, list) else [data]
    out: list[DeviceMapping] = []
    for i, item in enumerate(items):
        try:
            desc = DeviceDescription.model_validate(item)
        except ValueError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            out.append(
                DeviceMapping.unreadable(
                    f"{instance}:invalid-{i}",
                    str(name or f"document {i}"),
                    "desc",
                    f"not a DHI device description: {exc}",
                )
            )
            continue
        native = desc.id.split(":", 1)[1]
        unmapped: list[Unmapped] = []
        kept: list[tuple[str, list[CapabilityInstance]]] = []
        standard = vendor = 0
        claims = PropertyClaims()
        for comp in desc.components:
            caps = []
            for inst in comp.capabilities:
                definition = inst.definition or catalog.get(inst.id)
                if definition is None:
                    unmapped.append(
                        Unmapped(
                            feature=f"{comp.id}/{inst.id}", reason="capability not in the DHI v1 catalog"
                        )
                    )
                    continue
                if inst.definition is not None:
                    vendor += 1
                else:
                    standard += 1
                caps.append(inst)
                props = (
                    inst.properties
                    if inst.properties is not None
                    else [p.name for p in definition.properties]
                )
                # the device speaks DHI: each capability instance is one feature, its properties its own
                claims.bind_all(f"{comp.id}/{inst.id}", comp.id, inst.id, props)
            if caps:
                kept.append((comp.id, caps))
        mapped = None
        if kept:
            mapped = desc.model_copy(
                update={
                    "id": f"{instance}:{native}",
                    "adapter": instance,
                    "components": [
                        c.model_copy(update={"capabilities": caps})
                        for c in desc.components
                        for cid, caps in kept
                        if cid == c.id
                    ],
                }
            )
        features = standard + vendor + len(unmapped)
        out.append(
            DeviceMapping(
                id=f"{instance}:{native}",
                name=desc.name,
                description=mapped,
                features=features,
                standard=standard,
                vendor=vendor,
                unmapped=unmapped,
                mapping=claims.fates,
            )
        )
    return out
