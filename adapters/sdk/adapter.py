"""The adapter contract (DESIGN §4).

Lifecycle: the supervisor builds the adapter as ``cls(config)`` from its validated
``config_model`` instance and awaits ``start(ctx)``, which returns once the adapter is
ready (connected, subscribed); long-running work (read loops, pollers) goes to
``ctx.spawn``. Any exception escaping ``start`` or a spawned task is a crash: the
supervisor calls ``stop()``, marks the adapter's devices unavailable and restarts a fresh
instance with exponential backoff. ``execute`` is only called between a successful
``start`` and ``stop``.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from adapters.sdk.report import DeviceMapping
from dhi.catalog import Catalog
from dhi.models import CommandRequest, CommandResult, DeviceDescription

#: one state report of a batch: (device id, component, capability, {property: value})
ReportedState = tuple[str, str, str, dict[str, Any]]


class NoConfig(BaseModel):
    """Config model of an adapter that takes no settings."""

    model_config = ConfigDict(extra="forbid")


class AdapterContext(Protocol):
    """What the hub offers a running adapter. Publishing never blocks and never raises:
    invalid reports are logged and counted by the hub and ``False`` is returned."""

    @property
    def adapter(self) -> str: ...
    @property
    def home(self) -> str: ...
    @property
    def logger(self) -> logging.Logger: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def data_dir(self) -> Path: ...

    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None:
        """Sleep until hub time ``when`` (scenarios run on a scaled clock)."""
        ...

    def publish_device(self, description: DeviceDescription) -> bool: ...

    def remove_device(self, device_id: str) -> bool: ...

    def publish_state(
        self,
        device_id: str,
        capability: str,
        properties: dict[str, Any],
        *,
        component: str = "main",
        time: datetime | None = None,
    ) -> bool: ...

    def publish_states(self, reports: list[ReportedState], *, time: datetime | None = None) -> int:
        """Several state reports at once, in order (what one MQTT read brought): each is
        checked and stored like ``publish_state``'s, an invalid one is refused and counted
        without affecting the others. Returns how many were accepted."""
        ...

    def publish_event(
        self,
        device_id: str,
        capability: str,
        event: str,
        payload: dict[str, Any] | None = None,
        *,
        component: str = "main",
        time: datetime | None = None,
    ) -> bool: ...

    def set_available(
        self, device_id: str, available: bool, reason: str | None = None, *, time: datetime | None = None
    ) -> bool: ...

    def report_invalid(self, reason: str, *, source: str | None = None, payload: Any = None) -> None:
        """Count and log a malformed vendor message (never raises)."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a long-lived task as part of this adapter; its failure is an adapter crash."""
        ...

    async def settled(self) -> None:
        """Returns once everything published so far is handled and durable (alerts raised and
        stored, shares queued): a QoS 1 message is acknowledged to its broker only after this,
        so the broker redelivers what a crash interrupted (spec §12)."""
        ...


def publish_each(ctx: AdapterContext, reports: list[ReportedState], *, time: datetime | None = None) -> int:
    """``publish_states`` as one ``publish_state`` per report, for contexts with nothing to
    gain from a batch (test and conformance recorders)."""
    return sum(
        ctx.publish_state(device, capability, props, component=component, time=time)
        for device, component, capability, props in reports
    )


@runtime_checkable
class Adapter(Protocol):
    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    async def start(self, ctx: AdapterContext) -> None: ...

    async def execute(self, cmd: CommandRequest) -> CommandResult: ...

    async def stop(self) -> None: ...


@runtime_checkable
class OfflineMapper(Protocol):
    """Adapters that can map recorded vendor data without connecting (``dhome adapters check``)."""

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]: ...
