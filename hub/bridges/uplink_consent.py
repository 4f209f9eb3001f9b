"""Consent notices on the MQTT uplink: a home that reaches its platform only over MQTT tells it
when the resident changes or withdraws a subscription (spec §9.4, the MQTT binding).

Webhook homes state their consent on every acknowledgement poll (hub/bridges/platform_link.py);
an uplink home has no such link, so the bridge publishes one ``org.dhi.v1.consent.changed``
CloudEvent on ``<prefix>/<home>/events/consent/changed``, QoS 1, with the subscription's consent
as it stands (``null``: withdrawn). What was last told is kept per subscription in the hub's
``meta`` table (``uplink-consent:<id>``), written only once the broker acknowledged (PUBACK):
whatever differs from it — a change while the broker was away, a withdrawal just before the
hub stopped — is published again, with backoff, after every start. So a withdrawal reaches the
platform even though the subscription's outbox queue was cancelled with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dhi.models.envelope import new_message_id
from dhi.models.subscription import Subscription
from hub.bridges.platform_link import consent_of
from hub.consent import audit
from hub.consent.audit import AuditAction

if TYPE_CHECKING:
    from hub.consent.service import ConsentService
    from hub.core import Hub

log = logging.getLogger(__name__)

META_PREFIX = "uplink-consent:"
NOTICE_TYPE = "org.dhi.v1.consent.changed"
META_UPSERT = (
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
#: transports whose receiver reads the home's uplink topics as DHI CloudEvents
TRANSPORTS = frozenset({"mqtt"})

#: publishes one CloudEvent on a subscription's uplink; returns once the broker acknowledged it
type Publish = Callable[[Subscription, dict[str, Any]], Awaitable[None]]


def notice(home: str, sub: Subscription, consent: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The consent notice: a DHI CloudEvent whose data is the consent the platform's household
    record should follow (the same shape as the acknowledgement poll's ``consent``)."""
    return {
        "specversion": "1.0",
        "id": new_message_id(),
        "source": f"dhome://{home}",
        "type": NOTICE_TYPE,
        "time": now.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": {"subscription": sub.id, "receiver": sub.receiver.name, "consent": consent},
    }


class UplinkConsentNotices:
    """Keeps each uplink subscription's platform told of its consent (one task per subscription
    with something to tell; a newer change replaces an older one still being retried)."""

    def __init__(self, hub: Hub, consent: ConsentService, publish: Publish) -> None:
        self._hub = hub
        self._consent = consent
        self._publish = publish
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        consent.on_change(self._changed)
        # after a restart: what changed while the hub (or the broker) was away
        self._sweep = asyncio.get_running_loop().create_task(self._tell_all(), name="uplink-consent sweep")

    async def close(self) -> None:
        self._closed = True
        tasks = [self._sweep, *self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _changed(self, sub_id: str) -> None:
        if self._closed:
            return
        old = self._tasks.pop(sub_id, None)
        if old is not None:
            old.cancel()  # the newest consent is what the platform must end up with
        self._tasks[sub_id] = asyncio.get_running_loop().create_task(
            self._tell(sub_id), name=f"uplink-consent {sub_id}"
        )

    async def _tell_all(self) -> None:
        rows = await self._hub.storage.fetchall("SELECT id FROM subscriptions")
        for (sub_id,) in rows:
            if sub_id not in self._tasks:
                self._changed(str(sub_id))

    async def _tell(self, sub_id: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._tell_once(sub_id)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is away: try again (the next start also does)
                log.warning("consent notice for %s not acknowledged yet: %s", sub_id, exc)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 60.0)

    async def _tell_once(self, sub_id: str) -> None:
        storage = self._hub.storage
        row = await storage.fetchone("SELECT body, deleted FROM subscriptions WHERE id = ?", (sub_id,))
        if row is None:
            return
        sub = Subscription.model_validate_json(row[0])
        if sub.transport not in TRANSPORTS:
            return
        consent = None if row[1] is not None else consent_of(sub)
        told = await storage.fetchone("SELECT value FROM meta WHERE key = ?", (META_PREFIX + sub_id,))
        if told is not None and json.loads(told[0]) == consent:
            return
        now = self._hub.clock.now().astimezone(UTC)
        message = notice(self._hub.config.home.id, sub, consent, now)
        await self._publish(sub, message)
        change = "withdrawn" if consent is None else "changed"
        await storage.transaction(
            [
                (META_UPSERT, (META_PREFIX + sub_id, json.dumps(consent, ensure_ascii=False))),
                audit.entry(now, "outbox", AuditAction.SHARE_DELIVERED, subscription=sub_id,
                            message_id=message["id"],
                            detail={"receiver": sub.receiver.name, "transport": sub.transport,
                                    "consent_notice": change}),
            ]
        )  # fmt: skip
        log.info("told the uplink of subscription %s that its consent %s", sub_id, change)
