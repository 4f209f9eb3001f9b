"""The durable outbox: what the consent filter queued, delivered at least once, in order per
subscription, with exponential backoff and jitter, and dead-lettered only after retrying for
``give_up_after`` (24 h by default; per subscription). Dead letters stay visible (API, CLI,
metrics, web app) and can be resent. A receiver answering 410 Gone disables its subscription
until the resident confirms it again.

Every entry is a row of the SQLite ``outbox`` table from the moment it is queued; a worker
per subscription sends the oldest pending row and only then the next one (a failing head
blocks its own subscription, never another). Delivery is marked after the receiver took the
message, so a hub killed with ``kill -9`` between the two re-sends it after restart with the
same message id — receivers drop duplicates by id. Retries run on real time, not the hub
clock: receivers live in the real world.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from adapters.sdk.giveway import GIVE_WAY
from dhi.models.subscription import Subscription
from hub.alerts.config import AlertsConfig, OutboxConfig, alerts_config
from hub.consent import audit
from hub.consent.audit import AuditAction
from hub.consent.filter import Verdict, recheck
from hub.consent.service import ConsentService
from hub.delivery import (
    Bridge,
    BridgeFactory,
    OutboxEntry,
    PermanentDeliveryError,
    ReceiverGone,
    build_bridges,
)

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

#: How often an idle worker looks again even without a wake-up (real seconds).
IDLE_POLL = 5.0
#: A freshly queued entry is safety work in flight (bulk readers give way: adapters.sdk.giveway)
#: until it is delivered or has waited this long (real seconds; a slow receiver is not
#: a reason to slow ingestion down for longer)
URGENT_FOR = 2.0


def backoff(attempt: int, config: OutboxConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempt``-th failure (1-based): exponential, capped, with
    "equal jitter" — half fixed, half random — so retries of many homes never line up."""
    rng = rng or random.Random()
    ceiling = min(config.max_delay, config.base_delay * 2 ** min(max(attempt - 1, 0), 62))
    delay: float = ceiling / 2 + rng.uniform(0, ceiling / 2)
    return delay


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Head:
    """The oldest pending entry of a subscription, as read for one attempt."""

    seq: int
    message_id: str
    payload: dict[str, Any]
    attempts: int
    failed_since: datetime | None
    queued: datetime  # when the consent filter queued it (hub clock)


@dataclass
class _Worker:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    #: loop time until which this worker's fresh entry counts as safety work in flight
    urgent_until: float = 0.0


class Outbox:
    name = "outbox"

    def __init__(
        self,
        consent: ConsentService,
        *,
        config: AlertsConfig | None = None,
        bridges: Mapping[str, Bridge] | BridgeFactory = build_bridges,
        rng: random.Random | None = None,
    ) -> None:
        self._consent = consent
        self._given_config = config
        self.config = (config or AlertsConfig()).outbox
        self._bridge_source = bridges
        self._bridges: Mapping[str, Bridge] = {}
        self._rng = rng or random.Random()
        self._hub: Hub | None = None
        self._workers: dict[str, _Worker] = {}
        self._stopping = False
        self._no_give_way: Callable[[], None] | None = None
        self.delivered_total: Counter | None = None
        self.failed_total: Counter | None = None
        self.dead_total: Counter | None = None

    def __repr__(self) -> str:
        return f"Outbox(workers={len(self._workers)})"

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the outbox is not started")
        return self._hub

    # ------------------------------------------------------------------ lifecycle

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        full = self._given_config or alerts_config(hub.config.alerts)
        self.config = full.outbox
        # a factory (default: the installed bridge plugins) builds them once the config is known
        source = self._bridge_source
        self._bridges = source(hub, full) if callable(source) else source
        r = hub.metrics.registry
        self.delivered_total = Counter(
            "dhome_outbox_delivered", "Messages delivered to a receiver", ["subscription"], registry=r
        )
        self.failed_total = Counter(
            "dhome_outbox_failed_attempts", "Delivery attempts that failed", ["subscription"], registry=r
        )
        self.dead_total = Counter(
            "dhome_outbox_dead_letters",
            "Messages given up after the retry limit",
            ["subscription"],
            registry=r,
        )
        self._consent.on_queued(self.notify)
        self._consent.on_change(self._subscription_changed)
        # entries of withdrawn subscriptions that were queued just before a crash
        await hub.storage.execute(
            "UPDATE outbox SET state = 'cancelled', last_error = 'subscription withdrawn' "
            "WHERE state = 'pending' AND subscription IN (SELECT id FROM subscriptions WHERE deleted IS NOT NULL)"
        )
        for sub_id in self._consent.active_ids():
            self._ensure_worker(sub_id)
        self._no_give_way = GIVE_WAY.add_source(self._delivering)
        await self.refresh_metrics()

    async def stop(self) -> None:
        self._stopping = True
        if self._no_give_way is not None:
            self._no_give_way()
            self._no_give_way = None
        workers, self._workers = list(self._workers.values()), {}
        tasks = [w.task for w in workers if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for bridge in self._bridges.values():
            try:
                await bridge.close()
            except Exception as exc:
                log.warning("outbox: closing %r failed: %s", bridge, exc)

    # ------------------------------------------------------------------ wake-ups

    def notify(self, sub_id: str) -> None:
        """An entry was queued for ``sub_id`` (by the consent filter, as an alert is raised)."""
        worker = self._workers.get(sub_id)
        if worker is not None:
            worker.urgent_until = time.monotonic() + URGENT_FOR
            worker.wake.set()

    def _delivering(self) -> bool:
        """Whether a fresh entry is on its way out (bulk readers give way meanwhile)."""
        if not self._workers:
            return False
        now = time.monotonic()
        # a copy: asked from the storage's telemetry thread too (adapters.sdk.giveway)
        return any(w.urgent_until > now for w in tuple(self._workers.values()))

    def _subscription_changed(self, sub_id: str) -> None:
        if self._stopping or self._hub is None:
            return
        if self._consent.active(sub_id) is None:
            worker = self._workers.pop(sub_id, None)
            if worker is not None and worker.task is not None:
                worker.task.cancel()
        else:
            self._ensure_worker(sub_id)
            self.notify(sub_id)

    def _ensure_worker(self, sub_id: str) -> None:
        if sub_id in self._workers:
            return
        worker = _Worker()
        worker.task = asyncio.create_task(self._run(sub_id, worker), name=f"dhome-outbox {sub_id}")
        self._workers[sub_id] = worker

    # ------------------------------------------------------------------ delivery

    async def _run(self, sub_id: str, worker: _Worker) -> None:
        while True:
            try:
                await self._step(sub_id, worker)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: worker for %s failed; going on in a second", sub_id)
                await asyncio.sleep(1.0)

    async def _step(self, sub_id: str, worker: _Worker) -> None:
        storage = self.hub.storage
        worker.wake.clear()
        active = self._consent.active(sub_id)
        if active is not None and active.subscription.disabled is not None:
            # the receiver said 410 Gone: the queue waits for the resident's confirmation
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wake.wait(), IDLE_POLL)
            return
        # rows the consent filter queued a moment ago are committed first (not the telemetry
        # backlog: an alert's delivery never waits behind history under saturation), in the
        # same job on the storage thread as the read: one wait for its answer, not two
        rows = await storage.fetch_committed(
            "SELECT seq, message_id, payload, attempts, next_attempt, first_failed, created FROM outbox "
            "WHERE subscription = ? AND state = 'pending' ORDER BY seq LIMIT 1",
            (sub_id,),
        )
        row = rows[0] if rows else None
        if row is None:
            worker.urgent_until = 0.0  # all delivered
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wake.wait(), IDLE_POLL)
            return
        seq, message_id, payload, attempts, next_attempt, first_failed, created = row
        wait = (datetime.fromisoformat(next_attempt) - _utcnow()).total_seconds()
        if wait > 0:
            worker.urgent_until = 0.0  # a retry later is no reason to hold ingestion back
            # whatever queued meanwhile waits behind this entry: order per subscription is kept;
            # a consent change or a resend wakes the worker to look again
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wake.wait(), wait)
            return
        failed_since = datetime.fromisoformat(first_failed) if first_failed else None
        head = _Head(
            seq, message_id, json.loads(payload), attempts, failed_since, datetime.fromisoformat(created)
        )
        await self._attempt(sub_id, head)

    async def _attempt(self, sub_id: str, head: _Head) -> None:
        hub = self.hub
        active = self._consent.active(sub_id)
        now_hub = hub.clock.now()
        if active is None:
            return
        seq, message_id = head.seq, head.message_id
        # the subscription as it is now: a PUT since queueing may have narrowed it
        decision = recheck(active.subscription, head.payload, now_hub)
        if decision.verdict is not Verdict.SHARE:
            action = (
                AuditAction.SHARE_CANCELLED
                if decision.verdict is Verdict.REFUSE
                else AuditAction.SHARE_WITHHELD
            )
            await hub.storage.transaction(
                [
                    ("UPDATE outbox SET state = 'cancelled', last_error = ? WHERE seq = ?", (decision.reason, seq)),
                    audit.entry(now_hub, "outbox", action, subscription=sub_id,
                                message_id=message_id, detail={"reason": decision.reason}),
                ]
            )  # fmt: skip
            await self.refresh_metrics()
            return
        transport = active.subscription.transport
        bridge = self._bridges.get(transport)
        entry = OutboxEntry(
            seq, active.subscription, active.secret, message_id, decision.payload or {}, head.attempts
        )
        try:
            if bridge is None:
                raise PermanentDeliveryError(f"no bridge for transport {transport}")
            await bridge.send(entry)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(active.subscription, head, exc)
            return
        if hub.clock.real:  # the receiver took it: the second half of the safety path
            waited = (_utcnow() - head.queued).total_seconds()
            hub.metrics.alert_delivery_seconds.labels(transport).observe(max(waited, 0.0))
        attempts = head.attempts
        await hub.storage.transaction(
            [
                (
                    "UPDATE outbox SET state = 'delivered', attempts = ?, delivered = ?, last_error = NULL "
                    "WHERE seq = ?",
                    (attempts + 1, _utcnow().isoformat(), seq),
                ),
                audit.entry(now_hub, "outbox", AuditAction.SHARE_DELIVERED, subscription=sub_id,
                            message_id=message_id,
                            detail={"receiver": active.subscription.receiver.name, "transport": transport,
                                    "attempts": attempts + 1, **_drill(head.payload)}),
            ]
        )  # fmt: skip
        hub.metrics.messages_out.labels(transport).inc()
        if self.delivered_total is not None:
            self.delivered_total.labels(sub_id).inc()
        await self.refresh_metrics()

    def give_up_after(self, sub: Subscription) -> timedelta:
        if sub.give_up_after is not None:
            return timedelta(seconds=sub.give_up_after)
        return self.config.give_up_after

    def _dead(self, sub: Subscription, attempts: int, since: datetime, exc: Exception) -> bool:
        if isinstance(exc, PermanentDeliveryError):
            return True
        if self.config.max_attempts is not None and attempts >= self.config.max_attempts:
            return True
        return _utcnow() - since >= self.give_up_after(sub)

    async def _failed(self, sub: Subscription, head: _Head, exc: Exception) -> None:
        hub = self.hub
        sub_id, seq, message_id, attempts = sub.id, head.seq, head.message_id, head.attempts + 1
        since = head.failed_since or _utcnow()
        error = f"{type(exc).__name__}: {exc}"[:500]
        if self.failed_total is not None:
            self.failed_total.labels(sub_id).inc()
        if self._dead(sub, attempts, since, exc):
            log.error("outbox: %s to %s given up after %d attempts: %s", message_id, sub_id, attempts, error)
            if isinstance(exc, ReceiverGone):  # first: once the dead letter shows, so does the reason
                await self._consent.disable(sub_id, error, actor="outbox")
            await hub.storage.transaction(
                [
                    ("UPDATE outbox SET state = 'dead', attempts = ?, last_error = ? WHERE seq = ?",
                     (attempts, error, seq)),
                    audit.entry(hub.clock.now(), "outbox", AuditAction.SHARE_DEAD_LETTER, subscription=sub_id,
                                message_id=message_id, detail={"attempts": attempts, "error": error}),
                ]
            )  # fmt: skip
            if self.dead_total is not None:
                self.dead_total.labels(sub_id).inc()
        else:
            delay = backoff(attempts, self.config, self._rng)
            log.info(
                "outbox: %s to %s failed (attempt %d, retry in %.1fs): %s",
                message_id,
                sub_id,
                attempts,
                delay,
                error,
            )
            await hub.storage.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt = ?, first_failed = ? WHERE seq = ?",
                (attempts, error, (_utcnow() + timedelta(seconds=delay)).isoformat(), since.isoformat(), seq),
            )
        await self.refresh_metrics()

    # ------------------------------------------------------------------ dead letters, metrics

    async def depth(self) -> dict[str, dict[str, int]]:
        """``{subscription: {state: count}}`` for pending and dead entries."""
        rows = await self.hub.storage.fetchall(
            "SELECT subscription, state, COUNT(*) FROM outbox WHERE state IN ('pending', 'dead') "
            "GROUP BY subscription, state"
        )
        out: dict[str, dict[str, int]] = {}
        for sub_id, state, n in rows:
            out.setdefault(sub_id, {})[state] = n
        return out

    async def refresh_metrics(self) -> None:
        depth = await self.depth()
        gauge = self.hub.metrics.outbox_depth
        for sub_id in {*depth, *self._consent.active_ids()}:
            for state in ("pending", "dead"):
                gauge.labels(sub_id, state).set(depth.get(sub_id, {}).get(state, 0))


def _drill(payload: dict[str, Any]) -> dict[str, bool]:
    """``{"drill": True}`` for the audit detail of an exercise's message, else nothing."""
    return {"drill": True} if payload.get("drill") else {}
