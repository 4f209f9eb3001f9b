"""Bridges carry outbox entries out of the home: one ``Bridge`` per transport.

``send(entry)`` returns once the receiver has taken the message (HTTP 2xx, MQTT PUBACK) and
raises on any failure; the outbox then retries with backoff and, after its limit, moves the
entry to the dead letters. A bridge never decides about consent: what it gets was filtered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hub.models.subscription import Subscription


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
