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

A withdrawal is told for a bounded time, as an outbox message is (decision 74): it is retried
for the outbox's ``give_up_after`` from the withdrawal itself (and tried ``LATE_ATTEMPTS`` times
at least, so one made long ago, before this version, is still told once the broker answers),
then it is a dead letter: audited ``share.dead_letter``, counted, closed in ``meta``
(``uplink-consent-closed:<id>``) and not tried again — its uplink broker may be gone for good.
A withdrawal is not told at all while a live subscription on the same uplink endpoint exists
(withdrawn, then subscribed anew): the platform keeps one record per home, a withdrawal there is
final, and the live subscription's own notice carries the consent the resident gives now.
Either way the resident's withdrawal stands in the home: nothing is shared under it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dhi.models.envelope import new_message_id
from dhi.models.subscription import Subscription
from hub import meta
from hub.bridges.platform_link import consent_of
from hub.consent import audit
from hub.consent.audit import AuditAction
from hub.context import RateLimitedLog
from hub.meta import UPSERT

if TYPE_CHECKING:
    from hub.alerts.config import OutboxConfig
    from hub.consent.service import ConsentService
    from hub.core import Hub

log = logging.getLogger(__name__)

META_PREFIX = "uplink-consent:"
#: a withdrawal the bridge stopped telling: {"deleted": <the withdrawal's time>, "reason": ...}
CLOSED_PREFIX = "uplink-consent-closed:"
#: attempts a withdrawal gets in one run even when its give_up_after has passed
LATE_ATTEMPTS = 5
#: at most one "not acknowledged yet" line per subscription this often (seconds)
LOG_INTERVAL = 600.0
NOTICE_TYPE = "org.dhi.v1.consent.changed"
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


@dataclass(frozen=True, slots=True)
class Pending:
    """What one subscription has to tell: its notice, and whether it is a withdrawal (when)."""

    sub: Subscription
    consent: dict[str, Any] | None
    deleted: datetime | None


class UplinkConsentNotices:
    """Keeps each uplink subscription's platform told of its consent (one task per subscription
    with something to tell; a newer change replaces an older one still being retried)."""

    def __init__(self, hub: Hub, consent: ConsentService, publish: Publish, config: OutboxConfig) -> None:
        self._hub = hub
        self._consent = consent
        self._publish = publish
        self._config = config
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self._log = RateLimitedLog(log, LOG_INTERVAL)
        self._outcomes = hub.metrics.consent_notices
        self._retrying = hub.metrics.consent_notices_retrying
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
        task = asyncio.get_running_loop().create_task(self._tell(sub_id), name=f"uplink-consent {sub_id}")
        self._tasks[sub_id] = task
        task.add_done_callback(
            lambda t: self._tasks.pop(sub_id, None) if self._tasks.get(sub_id) is t else None
        )

    async def _tell_all(self) -> None:
        rows = await self._hub.storage.fetchall("SELECT id FROM subscriptions")
        for (sub_id,) in rows:
            if sub_id not in self._tasks:
                self._changed(str(sub_id))

    async def _tell(self, sub_id: str) -> None:
        delay, attempts, retrying = self._config.base_delay, 0, False
        try:
            while True:
                pending: Pending | None = None
                try:
                    pending = await self._pending(sub_id)
                    if pending is None:
                        return
                    attempts += 1
                    await self._tell_once(pending)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the broker is away: try again (the next start also does)
                    self._outcomes.labels("failed_attempt").inc()
                    if pending is not None and self._give_up(pending, attempts):
                        await self._close(pending, "dead_letter", f"{type(exc).__name__}: {exc}", attempts)
                        return
                    self._log.warning(sub_id, f"consent notice for {sub_id} not acknowledged yet: {exc}")
                    if not retrying:
                        retrying = True
                        self._retrying.inc()
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self._config.max_delay)
        finally:
            if retrying:
                self._retrying.dec()

    def _give_up(self, pending: Pending, attempts: int) -> bool:
        """A withdrawal is told for give_up_after from the withdrawal, LATE_ATTEMPTS at least; a
        live subscription's consent is told for as long as it lives (it is the uplink in use)."""
        if pending.deleted is None or attempts < LATE_ATTEMPTS:
            return False
        span = (
            timedelta(seconds=pending.sub.give_up_after)
            if pending.sub.give_up_after is not None
            else self._config.give_up_after
        )
        return self._hub.clock.now().astimezone(UTC) - pending.deleted >= span

    async def _pending(self, sub_id: str) -> Pending | None:
        """What is still to tell of the subscription, or None (told, closed, superseded, not ours)."""
        storage = self._hub.storage
        row = await storage.fetchone("SELECT body, deleted FROM subscriptions WHERE id = ?", (sub_id,))
        if row is None:
            return None
        sub = Subscription.model_validate_json(row[0])
        if sub.transport not in TRANSPORTS:
            return None
        deleted = None if row[1] is None else datetime.fromisoformat(row[1]).astimezone(UTC)
        consent = None if deleted is not None else consent_of(sub)
        told = await meta.read(storage, META_PREFIX + sub_id)
        if told is not None and json.loads(told) == consent:
            return None
        pending = Pending(sub, consent, deleted)
        if deleted is None:
            return pending
        closed = await meta.read(storage, CLOSED_PREFIX + sub_id)
        if closed is not None and json.loads(closed).get("deleted") == deleted.isoformat():
            return None  # this withdrawal was closed already (a later one of a revived id is not)
        live = await storage.fetchall("SELECT body FROM subscriptions WHERE deleted IS NULL")
        for (body,) in live:
            other = Subscription.model_validate_json(body)
            if other.transport in TRANSPORTS and other.endpoint == sub.endpoint:
                await self._close(
                    pending, "superseded", f"subscription {other.id} is live on the same uplink", 0
                )
                return None
        return pending

    async def _close(self, pending: Pending, reason: str, why: str, attempts: int) -> None:
        """Stop telling a withdrawal: audited (a dead letter, or withheld as superseded), kept in meta."""
        sub, now = pending.sub, self._hub.clock.now().astimezone(UTC)
        action = AuditAction.SHARE_DEAD_LETTER if reason == "dead_letter" else AuditAction.SHARE_WITHHELD
        detail = {"receiver": sub.receiver.name, "transport": sub.transport, "consent_notice": "withdrawn",
                  "reason": reason, "error": why, "attempts": attempts}  # fmt: skip
        deleted = None if pending.deleted is None else pending.deleted.isoformat()
        closed = {"deleted": deleted, "reason": reason, "at": now.isoformat()}
        await self._hub.storage.transaction(
            [
                (UPSERT, (CLOSED_PREFIX + sub.id, json.dumps(closed))),
                audit.entry(now, "outbox", action, subscription=sub.id, detail=detail),
            ]
        )
        self._outcomes.labels(reason).inc()
        if reason == "dead_letter":
            log.warning(
                "gave up telling the uplink of subscription %s that it was withdrawn (%s attempts): %s",
                sub.id, attempts, why,
            )  # fmt: skip
        else:
            log.info("withdrawal of subscription %s not told: %s", sub.id, why)

    async def _tell_once(self, pending: Pending) -> None:
        sub, consent = pending.sub, pending.consent
        now = self._hub.clock.now().astimezone(UTC)
        message = notice(self._hub.config.home.id, sub, consent, now)
        await self._publish(sub, message)
        change = "withdrawn" if consent is None else "changed"
        await self._hub.storage.transaction(
            [
                (UPSERT, (META_PREFIX + sub.id, json.dumps(consent, ensure_ascii=False))),
                audit.entry(now, "outbox", AuditAction.SHARE_DELIVERED, subscription=sub.id,
                            message_id=message["id"],
                            detail={"receiver": sub.receiver.name, "transport": sub.transport,
                                    "consent_notice": change}),
            ]
        )  # fmt: skip
        self._outcomes.labels("told").inc()
        log.info("told the uplink of subscription %s that its consent %s", sub.id, change)
