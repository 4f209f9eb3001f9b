"""The connection shell the MQTT adapters share, so each one only says what it subscribes to,
which devices a lost broker takes offline, and what to cancel on stop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Protocol

from adapters.sdk import AdapterContext
from adapters.sdk.mqtt.connection import MessageCallback, MqttConnection
from adapters.sdk.mqtt.settings import BrokerSettings
from adapters.sdk.mqtt.shared import shared_connection


class BrokerConfig(Protocol):
    """All the shell needs from an adapter's config model."""

    @property
    def broker(self) -> BrokerSettings: ...


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

    def bind(self, ctx: AdapterContext) -> None:
        """Attach the context without connecting (tests feed the message handlers directly)."""
        self._ctx = ctx

    async def start(self, ctx: AdapterContext) -> None:
        self.bind(ctx)
        conn = self._conn = await self._stack.enter_async_context(
            shared_connection(self.config.broker, logger=ctx.logger)
        )
        self._stack.callback(conn.on_connection_change(self._on_connection))
        self._opened(conn, ctx)
        for pattern, callback in self._subscriptions():
            self._stack.callback(await conn.subscribe(pattern, callback))

    async def stop(self) -> None:
        self._cancel_waiters()
        await self._stack.aclose()
        self._conn = None

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
