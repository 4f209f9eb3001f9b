"""Bridges carry outbox entries out of the home: one ``Bridge`` per transport, each a plugin.

A bridge package declares a ``dhome.bridges`` entry point named after its transport (the
subscription's ``transport``); the object it names is a ``BridgeType``: it checks a subscription
for its transport (endpoint, secret, what it can carry) and builds the hub's ``Bridge``. The
consent service asks the bridge type; the outbox sends through the bridge. Core never imports
a bridge: built-in ones (hub/bridges) are found the same way as third-party ones.

``send(entry)`` returns once the receiver has taken the message (HTTP 2xx, MQTT PUBACK) and
raises on any failure; the outbox then retries with backoff and, after its limit, moves the
entry to the dead letters. A bridge never decides about consent: what it gets was filtered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, cast

from pydantic import BaseModel, ValidationError

from dhi.errors import ConfigError
from dhi.models.subscription import Subscription, SubscriptionRequest
from dhi.validate import format_loc

if TYPE_CHECKING:
    from hub.alerts.config import AlertsConfig
    from hub.core import Hub, Service


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    subscription: Subscription
    secret: str | None
    message_id: str
    #: the CloudEvent (structured JSON) exactly as the consent filter let it out
    payload: dict[str, Any]
    attempts: int = 0


class DeliveryError(Exception):
    """The receiver did not take the message (worth retrying)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (e.g. the message cannot be rendered for this transport):
    the entry goes to the dead letters at once."""


class ReceiverGone(PermanentDeliveryError):
    """The receiver asked the sender to stop (HTTP 410 Gone): the entry is a dead letter and
    the subscription is disabled until the resident confirms it again."""


class Bridge(Protocol):
    async def send(self, entry: OutboxEntry) -> None: ...

    async def close(self) -> None: ...


class BridgeType(Protocol):
    """What a ``dhome.bridges`` entry point names (a class is instantiated without arguments)."""

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        """Raise ``dhi.errors.InvalidParams`` (field, expected) unless this transport can carry
        the subscription: endpoint form, secret, message types, settings it needs."""
        ...

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> Bridge:
        """The bridge of this hub. ``shared`` is one dict per hub for all its bridges (e.g. one
        uplink connection pool for two transports of a package)."""
        ...


class ServiceBridgeType(BridgeType, Protocol):
    """A bridge that also runs beside the hub (e.g. Home Assistant discovery: it publishes
    device descriptions and takes commands back), switched on by its block under the config's
    ``bridges:`` and checked by ``settings_model``."""

    settings_model: type[BaseModel]

    def service(self, settings: Any) -> Service:
        """The service for a validated settings block (added to the hub before it starts)."""
        ...


BRIDGE_GROUP = "dhome.bridges"


class BridgeLoadError(RuntimeError):
    pass


@cache
def bridge_types() -> dict[str, BridgeType]:
    """Every installed bridge by transport name, from the ``dhome.bridges`` entry points."""
    found: dict[str, BridgeType] = {}
    for ep in entry_points(group=BRIDGE_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:
            raise BridgeLoadError(f"bridge {ep.name!r} ({ep.value}) cannot be loaded: {exc}") from exc
        found[ep.name] = obj() if isinstance(obj, type) else obj
    if not found:
        raise BridgeLoadError(
            f"no bridges in the {BRIDGE_GROUP!r} entry points: reinstall dhome (make install)"
        )
    return found


def bridge_services(hub: Hub, source: str = "<config>") -> list[Service]:
    """The services of the bridges the config switches on (``bridges: {name: {...}}``)."""
    types = bridge_types()
    out: list[Service] = []
    for name, block in hub.config.bridges.items():
        kind = types.get(name)
        model = getattr(kind, "settings_model", None)
        if kind is None or model is None:
            runnable = sorted(n for n, t in types.items() if hasattr(t, "settings_model"))
            raise ConfigError(
                f"{source}: bridges.{name}: no such bridge runs beside the hub "
                f"(installed: {', '.join(runnable) or 'none'})"
            )
        try:
            settings = model.model_validate(block)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"{source}: bridges.{name}.{format_loc(err['loc'])}: {err['msg']}") from None
        out.append(cast("ServiceBridgeType", kind).service(settings))
    return out


def build_bridges(hub: Hub, config: AlertsConfig) -> dict[str, Bridge]:
    """One bridge per installed transport for this hub."""
    shared: dict[str, Any] = {}
    return {name: kind.build(hub, config, shared) for name, kind in bridge_types().items()}


#: builds the bridges of a hub from its alerts config (default: ``build_bridges``)
type BridgeFactory = Callable[[Hub, AlertsConfig], Mapping[str, Bridge]]
