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
from typing import TYPE_CHECKING, Any, Protocol

from dhi.models.subscription import Subscription, SubscriptionRequest

if TYPE_CHECKING:
    from hub.alerts.config import AlertsConfig
    from hub.core import Hub


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


def build_bridges(hub: Hub, config: AlertsConfig) -> dict[str, Bridge]:
    """One bridge per installed transport for this hub."""
    shared: dict[str, Any] = {}
    return {name: kind.build(hub, config, shared) for name, kind in bridge_types().items()}


#: builds the bridges of a hub from its alerts config (default: ``build_bridges``)
type BridgeFactory = Callable[[Hub, AlertsConfig], Mapping[str, Bridge]]
