"""The Zigbee2MQTT adapter: a connection shell around ``Bridge`` and the mapping tables."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.sdk.adapter import AdapterContext
from adapters.sdk.mqtt import (
    BrokerSettings,
    MqttConnection,
    MqttError,
    MqttMessage,
    Protocol,
    TopicError,
    encode_json,
    shared_connection,
)
from adapters.sdk.mqtt.lanes import SafetyLane, lane_allowed, lane_settings
from adapters.sdk.mqtt.topics import validate_topic
from adapters.sdk.report import DeviceMapping
from adapters.zigbee2mqtt.bridge import Bridge, wait_for
from adapters.zigbee2mqtt.commands import build_set_payload
from adapters.zigbee2mqtt.mapping import VENDOR
from adapters.zigbee2mqtt.offline import map_offline
from dhi.errors import AdapterError, HubError, UnknownDevice
from dhi.models import CommandRequest, CommandResult, CommandStatus
from dhi.priority import is_priority_device, priority_capabilities


class Zigbee2MqttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerSettings = Field(
        default_factory=lambda: BrokerSettings(protocol=Protocol.MQTT311),
        description="the broker Zigbee2MQTT publishes to; MQTT 3.1.1 unless `protocol` says otherwise",
    )
    base_topic: str = Field(default="zigbee2mqtt", description="Zigbee2MQTT's mqtt.base_topic")
    confirm_timeout: Annotated[float, Field(ge=0, le=60)] = Field(
        default=0.0,
        description="seconds to wait for the device's state echo after a command (0: do not wait)",
    )
    max_pending: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=1000, description="state messages held for devices not yet in bridge/devices"
    )
    safety_lane: bool = Field(
        default=True,
        description="a second broker connection for the bridge state, availability and the topics "
        "of safety and care devices, so they never wait behind a backlog of telemetry (with a clean "
        "session only: its batch handler cannot hold a skipped copy's acknowledgement back, so with a "
        "persistent session at-least-once delivery comes first, decision 55)",
    )

    @field_validator("broker", mode="before")
    @classmethod
    def _mqtt311_unless_said(cls, v: Any) -> Any:
        # Zigbee2MQTT speaks 3.1.1 by default, the adapter's one filter (<base>/#) needs no
        # subscription identifiers, and paho's MQTT 5 decoding (a Properties object per
        # PUBLISH) costs about as much as the hub's own work per message: see bench/README.md.
        if isinstance(v, dict) and "protocol" not in v:
            return {**v, "protocol": Protocol.MQTT311.value}
        return v

    @field_validator("base_topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        v = v.strip("/")
        if not v or any(c in v for c in "+#\x00"):
            raise ValueError("base_topic must be a non-empty MQTT topic without wildcards")
        return v


class Zigbee2MqttAdapter:
    """Zigbee devices through Zigbee2MQTT: ``bridge/devices`` -> DHI devices, device state
    -> DHI state and events, DHI commands -> ``<friendly_name>/set``.

    Commands succeed once the ``/set`` message is accepted by the broker (QoS 1 PUBACK):
    Zigbee2MQTT has no per-request acknowledgement on this topic (failures only appear in
    its log, or as a ``bridge/response`` for bridge requests), so "delivered to the bridge"
    is the strongest promise that holds for every device. With ``confirm_timeout`` set, the
    adapter also waits that long for the device's state echo and reports ``confirmed``.
    """

    name: ClassVar[str] = VENDOR
    config_model: ClassVar[type[BaseModel]] = Zigbee2MqttConfig

    def __init__(self, config: Zigbee2MqttConfig | None = None) -> None:
        self.config = config or Zigbee2MqttConfig()
        self._stack: AsyncExitStack | None = None
        self._conn: MqttConnection | None = None
        self._bridge: Bridge | None = None
        self._ctx: AdapterContext | None = None
        self._lane: SafetyLane | None = None

    def __repr__(self) -> str:
        return f"Zigbee2MqttAdapter({self.config.broker.safe_url()}, base_topic={self.config.base_topic!r})"

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        return map_offline(data)

    @property
    def bridge(self) -> Bridge | None:
        return self._bridge

    async def start(self, ctx: AdapterContext) -> None:
        self._ctx = ctx
        self._bridge = Bridge(ctx, max_pending=self.config.max_pending)
        stack = AsyncExitStack()
        try:
            self._conn = await stack.enter_async_context(
                shared_connection(self.config.broker, logger=ctx.logger)
            )
            if self.config.safety_lane and lane_allowed(self.config.broker):
                lane = SafetyLane(self._on_lane_message, logger=ctx.logger)
                await lane.open(self._conn, lane_settings(self.config.broker, self._conn.client_id))
                stack.push_async_callback(lane.close)
                self._lane = lane
                base = self.config.base_topic
                await lane.claim([f"{base}/bridge/state", f"{base}/+/availability"])
            stack.callback(await self._conn.subscribe_batch(f"{self.config.base_topic}/#", self._on_messages))
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        ctx.logger.info(
            "zigbee2mqtt: listening on %s/# at %s", self.config.base_topic, self.config.broker.safe_url()
        )

    def _on_messages(self, messages: list[MqttMessage]) -> None:
        """Every message of one read, handed to the bridge as one batch (one pass: decode,
        map, check, store)."""
        bridge = self._bridge
        if bridge is None:
            return
        lane = self._lane
        prefix = self.config.base_topic + "/"
        skip = len(prefix)
        batch = []
        for message in messages:
            topic = message.topic
            if lane is not None and not message.retain and lane.owns(topic):
                continue  # the safety lane's connection delivers it (a replay: this one does)
            if topic.startswith(prefix):
                batch.append((topic[skip:], message.payload, message.retain))
        bridge.handle_many(batch)
        if lane is not None and self._ctx is not None and any(m[0] == "bridge/devices" for m in batch):
            self._ctx.spawn(self._claim_priority(lane), "safety-lane")

    def _on_lane_message(self, message: MqttMessage) -> None:
        prefix = self.config.base_topic + "/"
        if self._bridge is not None and message.topic.startswith(prefix):
            self._bridge.handle(message.topic[len(prefix) :], message.payload, message.retain)

    async def _claim_priority(self, lane: SafetyLane) -> None:
        """The state topics of the safety and care devices go to the lane (dhi.priority)."""
        bridge, ctx = self._bridge, self._ctx
        if bridge is None or ctx is None:
            return
        capabilities = priority_capabilities(ctx.catalog)
        names = [
            known.entry.friendly_name
            for known in bridge.devices.values()
            if known.mapped.description is not None
            and is_priority_device(known.mapped.description, capabilities)
        ]
        topics = []
        for name in names:
            try:
                topics.append(validate_topic(f"{self.config.base_topic}/{name}"))
            except TopicError:
                continue  # no topic of its own to claim: it stays on the main connection
        try:
            await lane.claim(topics)
        except MqttError as exc:
            ctx.logger.warning(
                "zigbee2mqtt: safety lane: %s (those devices stay on the main connection)", exc
            )

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        self._conn = None
        self._lane = None
        if stack is not None:
            await stack.aclose()

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        try:
            result = await self._execute(cmd)
        except HubError as exc:
            return self._result(cmd, error=exc)
        return self._result(cmd, result=result)

    async def _execute(self, cmd: CommandRequest) -> dict[str, Any]:
        bridge, conn = self._bridge, self._conn
        if bridge is None or conn is None:
            raise AdapterError("the zigbee2mqtt adapter is not running")
        known = bridge.by_device_id(cmd.device or "")
        if known is None or known.mapped.description is None:
            raise UnknownDevice(f"no Zigbee2MQTT device {cmd.device!r}", field="device")
        catalog = self._ctx.catalog if self._ctx is not None else None
        if catalog is None:  # pragma: no cover - start() sets both
            raise AdapterError("adapter has no catalog")
        payload = build_set_payload(known.mapped, cmd, catalog)
        name = known.entry.friendly_name
        try:
            topic = validate_topic(f"{self.config.base_topic}/{name}/set")
        except TopicError as exc:
            raise AdapterError(f"cannot address {name!r}: {exc}") from None
        echo = None
        if self.config.confirm_timeout > 0:
            import asyncio

            echo = asyncio.ensure_future(
                wait_for(bridge, name, _top_keys(payload), self.config.confirm_timeout)
            )
        try:
            await conn.publish(topic, encode_json(payload), qos=1)
        except MqttError as exc:
            if echo is not None:
                echo.cancel()
            raise AdapterError(f"could not publish to {topic}: {exc}") from None
        out: dict[str, Any] = {"topic": topic, "payload": payload}
        if echo is not None:
            out["confirmed"] = await echo
        return out

    def _result(
        self, cmd: CommandRequest, *, result: dict[str, Any] | None = None, error: HubError | None = None
    ) -> CommandResult:
        now = self._ctx.now() if self._ctx is not None else None
        if error is not None:
            return CommandResult(
                id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=error.info(), time=now
            )
        return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.OK, result=result, time=now)


def _top_keys(payload: dict[str, Any]) -> dict[str, Any]:
    # "transition" is an instruction, not state: the echo will not carry it
    return {k: v for k, v in payload.items() if k != "transition"}
