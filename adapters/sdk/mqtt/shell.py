"""The connection shell the MQTT adapters share, so each one only says what it subscribes to,
which devices a lost broker takes offline, and what to cancel on stop."""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable
from contextlib import AsyncExitStack
from typing import Protocol

from adapters.sdk import AdapterContext
from adapters.sdk.mqtt.connection import MessageCallback, MqttConnection, MqttMessage, Unsubscribe
from adapters.sdk.mqtt.errors import MqttError
from adapters.sdk.mqtt.lanes import SafetyLane, lane_allowed, lane_settings
from adapters.sdk.mqtt.settings import BrokerSettings
from adapters.sdk.mqtt.shared import shared_connection
from adapters.sdk.mqtt.topics import matches
from dhi.models import DeviceDescription
from dhi.priority import is_priority_device, priority_capabilities


class BrokerConfig(Protocol):
    """All the shell needs from an adapter's config model."""

    @property
    def broker(self) -> BrokerSettings: ...


#: how long the broker keeps the hub's session while the hub is away (spec §12)
SESSION_EXPIRY = 86400


def persistent(broker: BrokerSettings, ctx: AdapterContext) -> BrokerSettings:
    """The hub's adapters keep a persistent session under a client id stable for this hub and
    broker (a random one would start a new session at every start), unless configured."""
    update: dict[str, object] = {}
    if "session_expiry" not in broker.model_fields_set:
        update["session_expiry"] = SESSION_EXPIRY
    if broker.client_id is None:
        hub_dir = ctx.data_dir.parent.parent  # <data dir>/adapters/<name>
        digest = hashlib.sha256(f"{hub_dir.resolve()}|{broker.safe_url()}".encode()).hexdigest()[:10]
        update["client_id"] = f"dhome-{ctx.home}-{digest}"[:128]
    return broker.model_copy(update=update) if update else broker


class MqttAdapterShell[C: BrokerConfig](ABC):
    """``start`` = bind, join the shared connection, watch it, subscribe; ``stop`` undoes it.

    Everything ``start`` sets up goes on one exit stack, so ``stop`` also cleans up after a
    ``start`` that failed half-way (the supervisor calls ``stop`` after a crash).
    """

    def __init__(self, config: C) -> None:
        self.config = config
        self._ctx: AdapterContext | None = None
        self._conn: MqttConnection | None = None
        self._stack = AsyncExitStack()
        #: the safety lane's connection, when the config has ``safety_lane: true`` (lanes.py)
        self._lane: SafetyLane | None = None
        #: (filter, handler) for what the lane delivers: a device's own routes first, then
        #: the ``_subscriptions`` ones
        self._lane_routes: list[tuple[str, MessageCallback]] = []
        self._device_routes: list[tuple[str, MessageCallback]] = []
        self._to_claim: list[str] = []  # filters to hand to the lane with the next claim

    def bind(self, ctx: AdapterContext) -> None:
        """Attach the context without connecting (tests feed the message handlers directly)."""
        self._ctx = ctx

    async def start(self, ctx: AdapterContext) -> None:
        self.bind(ctx)
        settings = persistent(self.config.broker, ctx)
        conn = self._conn = await self._stack.enter_async_context(
            shared_connection(settings, logger=ctx.logger)
        )
        conn.set_ack_gate(ctx.settled)
        self._stack.callback(conn.on_connection_change(self._on_connection))
        self._opened(conn, ctx)
        if getattr(self.config, "safety_lane", False) and lane_allowed(settings, withholds_acks=True):
            lane = SafetyLane(self._on_lane_message, logger=ctx.logger)
            await lane.open(conn, lane_settings(settings, conn.client_id), ack_gate=ctx.settled)
            self._stack.push_async_callback(lane.close)
            self._lane = lane
        self._lane_routes.clear()
        self._device_routes.clear()
        for pattern, callback in self._subscriptions():
            self._lane_routes.append((pattern, callback))
            self._stack.callback(await conn.subscribe(pattern, self._bulk(callback)))

    async def stop(self) -> None:
        self._cancel_waiters()
        await self._stack.aclose()
        self._conn = None
        self._lane = None
        self._to_claim.clear()

    # ------------------------------------------------------------------ the safety lane

    def _bulk(self, callback: MessageCallback) -> MessageCallback:
        lane = self._lane
        return callback if lane is None else lane.bulk(callback)

    def _on_lane_message(self, msg: MqttMessage) -> Awaitable[None] | None:
        for routes in (self._device_routes, self._lane_routes):
            for pattern, callback in routes:
                if matches(pattern, msg.topic):
                    return callback(msg)
        return None

    async def _subscribe_device_topic(self, pattern: str, callback: MessageCallback) -> Unsubscribe:
        """Subscribe the main connection to one device's own topic (an adapter that learns a
        device's topics from its discovery, e.g. Tasmota); the lane may take it over
        (``_claim_lane`` with ``route``)."""
        if self._conn is None:
            raise RuntimeError("adapter not started")
        return await self._conn.subscribe(pattern, self._bulk(callback))

    def _claim_lane(self, filters: list[str], route: MessageCallback | None = None) -> None:
        """Hand these topics (a priority device's, an availability topic) over to the safety
        lane, in the background; ``route`` handles them there (default: the handler of the
        ``_subscriptions`` filter they match). Claims made within one loop turn go together
        (one hand-over marker for a whole discovery round)."""
        lane, ctx = self._lane, self._ctx
        if lane is None or ctx is None:
            return
        if route is not None:
            self._device_routes.extend((f, route) for f in filters)
        first = not self._to_claim
        self._to_claim.extend(filters)
        if not first:
            return  # the claim already scheduled takes these too

        async def claim() -> None:
            await asyncio.sleep(0)  # the rest of this turn's claims join
            filters, self._to_claim = self._to_claim, []
            try:
                await lane.claim(filters)
            except MqttError as exc:
                ctx.logger.warning("safety lane: %s (those topics stay on the main connection)", exc)

        ctx.spawn(claim(), "safety-lane")

    def _claim_device_lane(
        self,
        description: DeviceDescription,
        own: list[str],
        availability: list[str],
        route: MessageCallback | None = None,
    ) -> None:
        """A safety or care device's own topics all take the lane (a whole device: its messages
        keep their order); any other device's availability topics do (dhi.priority)."""
        ctx = self._ctx
        if self._lane is None or ctx is None:
            return
        priority = is_priority_device(description, priority_capabilities(ctx.catalog))
        filters = own if priority else availability
        if filters:
            self._claim_lane(filters, route)

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _subscriptions(self) -> Iterable[tuple[str, MessageCallback]]:
        """``(filter, callback)`` pairs, subscribed in this order once connected (and after
        ``_opened``)."""

    @abstractmethod
    def _published_device_ids(self) -> Iterable[str]:
        """Hub ids of the devices this adapter has published: a lost broker makes them unavailable."""

    def _opened(self, conn: MqttConnection, ctx: AdapterContext) -> None:  # noqa: B027 (optional hook)
        """Connected, not yet subscribed: push adapter-specific cleanups on ``self._stack``."""

    def _cancel_waiters(self) -> None:  # noqa: B027 (optional hook)
        """Before closing: fail whatever still waits for a device's answer instead of hanging."""

    def _on_connection(self, up: bool) -> None:
        # reconnecting needs nothing: re-subscribing replays the retained availability
        if up or self._ctx is None:
            return
        for device_id in self._published_device_ids():
            self._ctx.set_available(device_id, False, "broker connection lost")

    def _require_ctx(self) -> AdapterContext:
        if self._ctx is None:
            raise RuntimeError("adapter not started")
        return self._ctx
