"""Bridges carry outbox entries out of the home: one ``Bridge`` per transport.

``send(entry)`` returns once the receiver has taken the message (HTTP 2xx, MQTT PUBACK) and
raises on any failure; the outbox then retries with backoff and, after its limit, moves the
entry to the dead letters. A bridge never decides about consent: what it gets was filtered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dhi.models.subscription import Subscription, Transport

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


class Bridge(Protocol):
    async def send(self, entry: OutboxEntry) -> None: ...

    async def close(self) -> None: ...


#: builds the bridges of a hub from its alerts config (``hub.bridges.factory.build_bridges``)
type BridgeFactory = Callable[[Hub, AlertsConfig], Mapping[Transport, Bridge]]
