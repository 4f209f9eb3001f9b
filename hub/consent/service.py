"""``ConsentService``: subscriptions with the resident's consent, the consent filter on the
event bus, and the audit log. Implements ``hub.services.SubscriptionService``.

The filter is a bus *tap*: it runs inline on publish, before any queue, so a message is
either queued in the outbox (in the same SQLite batch as its audit entry) or refused and
audited — never sent past the filter. No subscription → nothing leaves the home.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from dhi.errors import Conflict, InvalidParams, NotFound
from dhi.models.envelope import as_envelope
from dhi.models.subscription import Consent, Disabled, Subscription, SubscriptionRequest
from hub.alerts.config import AlertsConfig, ConfiguredSubscription, alerts_config
from hub.consent import audit, deliveries
from hub.consent.audit import AuditAction
from hub.consent.filter import ALERT_TYPES, Verdict, decide, recheck, unknown_fields
from hub.delivery import bridge_types
from hub.storage import Statement

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

#: ``meta`` key of the digest of a config-file subscription entry as last applied
CONFIG_DIGEST_KEY = "subscription-config:"
META_UPSERT = (
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
OUTBOX_INSERT = (
    "INSERT OR IGNORE INTO outbox (subscription, message_id, payload, state, attempts, next_attempt, created) "
    "VALUES (?,?,?,'pending',0,?,?)"
)


@dataclass
class ActiveSubscription:
    """A subscription as the outbox needs it: the public model plus its signing secret."""

    subscription: Subscription
    secret: str | None


def check_secret(secret: str) -> None:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24..64 random bytes."""
    if not secret.startswith("whsec_"):
        raise InvalidParams("secret must start with whsec_", field="secret", expected="whsec_<base64>")
    try:
        raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParams("secret is not valid base64 after whsec_", field="secret") from None
    if not 24 <= len(raw) <= 64:
        raise InvalidParams(
            f"secret decodes to {len(raw)} bytes", field="secret", expected="24 to 64 random bytes"
        )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class ConsentService:
    name = "consent"

    def __init__(self, config: AlertsConfig | None = None) -> None:
        self._given_config = config
        self.config = config or AlertsConfig()
        self._hub: Hub | None = None
        self._subs: dict[str, ActiveSubscription] = {}
        self._plain_wanted = False  # does any subscription take more than alert messages?
        self._queued_listeners: list[Callable[[str], None]] = []
        self._change_listeners: list[Callable[[str], None]] = []
        self._untap: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"ConsentService(subscriptions={len(self._subs)})"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.config = self._given_config or alerts_config(hub.config.alerts)
        rows = await hub.storage.fetchall(
            "SELECT id, body, secret FROM subscriptions WHERE deleted IS NULL ORDER BY created"
        )
        for sub_id, body, secret in rows:
            self._subs[sub_id] = ActiveSubscription(Subscription.model_validate_json(body), secret)
        self._subs_changed()
        for configured in self.config.subscriptions:
            await self.apply_configured(configured)
        self._untap = hub.bus.tap(self._filter, raw=True)
        hub.subscriptions = self
        log.info("consent: %d subscriptions", len(self._subs))

    async def stop(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the consent service is not started")
        return self._hub

    def on_queued(self, listener: Callable[[str], None]) -> None:
        """``listener(subscription_id)`` after a message was queued for it (not yet committed)."""
        self._queued_listeners.append(listener)

    def on_change(self, listener: Callable[[str], None]) -> None:
        """``listener(subscription_id)`` after a subscription was created, changed or withdrawn."""
        self._change_listeners.append(listener)

    def active(self, sub_id: str) -> ActiveSubscription | None:
        return self._subs.get(sub_id)

    def active_ids(self) -> list[str]:
        return list(self._subs)

    # ------------------------------------------------------------------ the filter (bus tap)

    def _subs_changed(self) -> None:
        self._plain_wanted = any(s.subscription.message_types for s in self._subs.values())

    def _filter(self, msg: Any) -> None:
        if not self._plain_wanted and msg.type not in ALERT_TYPES:
            return  # fast path (every state change passes here): nobody takes plain events
        msg = as_envelope(msg)
        msg_type = str(msg.type)
        hub = self.hub
        now = hub.clock.now()
        message = msg.model_dump(mode="json", exclude_none=True)
        covered = False
        for sub_id, active in self._subs.items():
            decision = decide(active.subscription, message, now)
            if decision.verdict is Verdict.IGNORE:
                continue
            covered = True
            summary = _summary(message)
            if decision.verdict is Verdict.REFUSE:
                hub.storage.write(
                    *audit.entry(
                        now, "consent-filter", AuditAction.SHARE_REFUSED,
                        subscription=sub_id, message_id=msg.id, detail={**summary, "reason": decision.reason},
                    )
                )  # fmt: skip
                continue
            payload = decision.payload or {}
            hub.storage.write(
                OUTBOX_INSERT,
                (sub_id, msg.id, json.dumps(payload, ensure_ascii=False), _utc_now_iso(), now.isoformat()),
            )
            shared = sorted(payload.get("data", {}).get("alert", payload.get("data", {})))
            hub.storage.write(
                *audit.entry(
                    now, "consent-filter", AuditAction.SHARE_QUEUED,
                    subscription=sub_id, message_id=msg.id,
                    detail={**summary, "receiver": active.subscription.receiver.name, "fields": shared},
                )
            )  # fmt: skip
            for listener in self._queued_listeners:
                listener(sub_id)
        if not covered and msg_type == "org.dhi.v1.alert.raised":
            hub.storage.write(
                *audit.entry(
                    now, "consent-filter", AuditAction.SHARE_WITHHELD, message_id=msg.id,
                    detail={**_summary(message), "reason": "no subscription covers this alert"},
                )
            )  # fmt: skip

    # ------------------------------------------------------------------ SubscriptionService

    def list_subscriptions(self) -> list[Subscription]:
        return [a.subscription for a in self._subs.values()]

    def get_subscription(self, sub_id: str) -> Subscription | None:
        active = self._subs.get(sub_id)
        return active.subscription if active else None

    async def create(self, request: SubscriptionRequest, actor: str) -> Subscription:
        return await self._put(f"sub-{secrets.token_hex(8)}", request, actor, existing=None)

    async def update(self, sub_id: str, request: SubscriptionRequest, actor: str) -> Subscription:
        existing = self._subs.get(sub_id)
        if existing is None:
            raise NotFound(f"no subscription {sub_id!r}", field="id")
        return await self._put(sub_id, request, actor, existing=existing)

    async def grant(
        self, sub_id: str, granted_by: str, *, expires: datetime | None = None, actor: str | None = None
    ) -> Subscription:
        """The resident's consent to an existing subscription (from now until ``expires``)."""
        existing = self._subs.get(sub_id)
        if existing is None:
            raise NotFound(f"no subscription {sub_id!r}", field="id")
        consent = Consent(granted_by=granted_by, granted_at=self.hub.clock.now(), expires=expires)
        request = _as_request(existing).model_copy(update={"consent": consent})
        return await self._put(sub_id, request, actor or granted_by, existing=existing)

    async def withdraw(self, sub_id: str, actor: str) -> None:
        existing = self._subs.get(sub_id)
        if existing is None:
            raise NotFound(f"no subscription {sub_id!r}", field="id")
        hub = self.hub
        now = hub.clock.now()
        sub = existing.subscription
        if sub.consent is not None and sub.consent.withdrawn_at is None:
            sub = sub.model_copy(update={"consent": sub.consent.model_copy(update={"withdrawn_at": now})})
        del self._subs[sub_id]
        self._subs_changed()
        cancelled_rows = await hub.storage.fetchall(
            "SELECT message_id FROM outbox WHERE subscription = ? AND state = 'pending'", (sub_id,)
        )
        statements = [
            (
                "UPDATE subscriptions SET body = ?, deleted = ? WHERE id = ?",
                (orjson.dumps(sub.to_json()).decode(), now.isoformat(), sub_id),
            ),
            (
                "UPDATE outbox SET state = 'cancelled', last_error = ? WHERE subscription = ? AND state = 'pending'",
                ("consent withdrawn", sub_id),
            ),
            audit.entry(now, actor, AuditAction.SUBSCRIPTION_WITHDRAWN, subscription=sub_id,
                        detail={"receiver": sub.receiver.name, "cancelled": len(cancelled_rows)}),
        ]  # fmt: skip
        if sub.consent is not None:
            statements.append(
                audit.entry(now, actor, AuditAction.CONSENT_WITHDRAWN, subscription=sub_id,
                            detail={"receiver": sub.receiver.name})
            )  # fmt: skip
        await hub.storage.transaction(statements)
        self._changed(sub_id)

    async def deliveries(
        self, sub_id: str, limit: int = 100, state: str | None = None
    ) -> list[dict[str, Any]]:
        await self.hub.storage.flush()
        sql, params = deliveries.select(subscription=sub_id, state=state, limit=limit)
        return [deliveries.row_to_dict(r) for r in await self.hub.storage.fetchall(sql, params)]

    async def retry(self, sub_id: str, actor: str, message_id: str | None = None) -> int:
        """Resend dead letters of a subscription (one, or all): a new round of attempts now."""
        if sub_id not in self._subs:
            raise NotFound(f"no subscription {sub_id!r}", field="id")
        hub = self.hub
        rows = await hub.storage.fetchall(*deliveries.dead_query(sub_id, message_id))
        if message_id is not None and not rows:
            known = await hub.storage.fetchone(*deliveries.select(subscription=sub_id, message_id=message_id))
            if known is None:
                raise NotFound(f"no delivery {message_id!r} for subscription {sub_id!r}", field="message_id")
            raise Conflict(
                f"delivery {message_id!r} is {known[4]}, not dead: only dead letters are resent",
                field="message_id",
            )
        if rows:
            await hub.storage.transaction(
                deliveries.requeue([tuple(r) for r in rows], actor, hub.clock.now(), _utc_now())
            )
            self._changed(sub_id)
        return len(rows)

    async def disable(self, sub_id: str, reason: str, actor: str) -> None:
        """The receiver asked to stop (410 Gone): nothing is sent until the resident confirms
        the subscription again (any PUT); what was queued stays queued."""
        active = self._subs.get(sub_id)
        if active is None or active.subscription.disabled is not None:
            return
        hub = self.hub
        now = hub.clock.now()
        sub = active.subscription.model_copy(update={"disabled": Disabled(at=now, reason=reason)})
        log.warning("consent: subscription %s disabled: %s", sub_id, reason)
        await hub.storage.transaction(
            [
                ("UPDATE subscriptions SET body = ? WHERE id = ?", (orjson.dumps(sub.to_json()).decode(), sub_id)),
                audit.entry(now, actor, AuditAction.SUBSCRIPTION_DISABLED, subscription=sub_id,
                            detail={"receiver": sub.receiver.name, "reason": reason}),
            ]
        )  # fmt: skip
        self._subs[sub_id] = ActiveSubscription(sub, active.secret)
        self._changed(sub_id)

    async def audit(self, limit: int = 100, since: int | None = None) -> list[dict[str, Any]]:
        sql, params = audit.select(since=since, limit=limit)
        return [audit.row_to_dict(r) for r in await self.hub.storage.fetchall(sql, params)]

    # ------------------------------------------------------------------ internals

    def _validate(self, request: SubscriptionRequest, has_secret: bool) -> None:
        bridges = bridge_types()
        bridge = bridges.get(request.transport)
        if bridge is None:
            raise InvalidParams(
                f"no bridge for transport {request.transport!r} is installed",
                field="transport",
                expected="one of " + ", ".join(sorted(bridges)),
            )
        if request.secret is not None:
            check_secret(request.secret)
        bridge.check(request, self.config, has_secret=has_secret)  # its endpoint, secret and settings
        unknown = unknown_fields(request.fields)
        if unknown:
            raise InvalidParams(f"unknown fields: {', '.join(unknown)}", field="fields")
        consent = request.consent
        if consent is not None and consent.expires is not None and consent.expires <= consent.granted_at:
            raise InvalidParams("consent expires before it is granted", field="consent.expires")

    async def _put(
        self,
        sub_id: str,
        request: SubscriptionRequest,
        actor: str,
        *,
        existing: ActiveSubscription | None,
        extra: Sequence[Statement] = (),
    ) -> Subscription:
        self._validate(request, has_secret=existing is not None and existing.secret is not None)
        hub = self.hub
        now = hub.clock.now()
        secret = request.secret if request.secret is not None else (existing.secret if existing else None)
        sub = Subscription(
            id=sub_id,
            receiver=request.receiver,
            transport=request.transport,
            endpoint=request.endpoint,
            alert_kinds=request.alert_kinds,
            message_types=request.message_types,
            devices=request.devices,
            fields=request.fields,
            from_escalation=request.from_escalation,
            give_up_after=request.give_up_after,
            consent=request.consent,
            created=existing.subscription.created if existing else now,
            has_secret=secret is not None,
        )
        detail = {
            "receiver": sub.receiver.name,
            "receiver_kind": sub.receiver.kind.value,
            "transport": sub.transport,
            "endpoint": _safe_endpoint(sub.endpoint),
            "alert_kinds": [k.value for k in sub.alert_kinds],
            "message_types": sub.message_types,
            "devices": sub.devices,
            "fields": sub.fields,
        }
        action = AuditAction.SUBSCRIPTION_UPDATED if existing else AuditAction.SUBSCRIPTION_CREATED
        statements: list[Statement] = [
            (
                "INSERT INTO subscriptions (id, body, secret, created, deleted) VALUES (?,?,?,?,NULL) "
                "ON CONFLICT(id) DO UPDATE SET body=excluded.body, secret=excluded.secret, deleted=NULL",
                (sub_id, orjson.dumps(sub.to_json()).decode(), secret, sub.created.isoformat()),
            ),
            audit.entry(now, actor, action, subscription=sub_id, detail=detail),
        ]
        before = existing.subscription.consent if existing else None
        if sub.consent is not None and sub.consent != before:
            statements.append(
                audit.entry(now, actor, AuditAction.CONSENT_GRANTED, subscription=sub_id,
                            detail={"granted_by": sub.consent.granted_by,
                                    "granted_at": sub.consent.granted_at.isoformat(),
                                    "expires": sub.consent.expires.isoformat() if sub.consent.expires else None})
            )  # fmt: skip
        elif sub.consent is None and before is not None:
            statements.append(
                audit.entry(now, actor, AuditAction.CONSENT_WITHDRAWN, subscription=sub_id, detail={})
            )
        statements += extra
        if existing is not None:
            statements += await self._recheck_queued(sub, actor, now)
        await hub.storage.transaction(statements)
        self._subs[sub_id] = ActiveSubscription(sub, secret)
        self._subs_changed()
        self._changed(sub_id)
        return sub

    async def _recheck_queued(self, sub: Subscription, actor: str, now: datetime) -> list[Statement]:
        """A consent change reaches what is queued and not yet delivered, at once: kinds no
        longer consented are withheld, fields no longer granted are removed before sending."""
        storage = self.hub.storage
        await storage.flush()
        rows = await storage.fetchall(
            "SELECT seq, message_id, payload FROM outbox WHERE subscription = ? AND state = 'pending'",
            (sub.id,),
        )
        out: list[Statement] = []
        for seq, message_id, raw in rows:
            payload = json.loads(raw)
            decision = recheck(sub, payload, now)
            if decision.verdict is Verdict.SHARE:
                if decision.payload != payload:
                    out.append(
                        ("UPDATE outbox SET payload = ? WHERE seq = ? AND state = 'pending'",
                         (json.dumps(decision.payload, ensure_ascii=False), seq))
                    )  # fmt: skip
                continue
            action = (
                AuditAction.SHARE_CANCELLED
                if decision.verdict is Verdict.REFUSE
                else AuditAction.SHARE_WITHHELD
            )
            out += [
                ("UPDATE outbox SET state = 'cancelled', last_error = ? WHERE seq = ? AND state = 'pending'",
                 (decision.reason, seq)),
                audit.entry(now, actor, action, subscription=sub.id, message_id=message_id,
                            detail={**_summary(payload), "reason": decision.reason}),
            ]  # fmt: skip
        return out

    async def apply_configured(
        self, configured: ConfiguredSubscription, *, section: str = "alerts.subscriptions"
    ) -> None:
        """The config file *seeds* a subscription: an entry is applied when it is new or its text
        changed since it was last applied. An unchanged entry never overrides what the resident
        decided through the API or the web app since (a withdrawal stays withdrawn, a PUT stays)."""
        request = SubscriptionRequest.model_validate(configured.model_dump(exclude={"id"}))
        storage = self.hub.storage
        key, digest = _config_digest(configured)
        seen = await storage.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        remember = [(META_UPSERT, (key, digest))]
        if seen is not None and seen[0] == digest:
            return  # applied before and unchanged: the stored decision stands
        existing = self._subs.get(configured.id)
        row = await storage.fetchone("SELECT deleted FROM subscriptions WHERE id = ?", (configured.id,))
        if seen is None and row is not None and (row[0] is not None or existing is not None):
            # stored by a hub that did not record digests yet: the stored decision stands too
            await storage.transaction(remember)
            return
        if existing is not None and _as_request(existing) == request:
            await storage.transaction(remember)
            return
        if row is not None and row[0] is not None:
            log.warning(
                "consent: subscription %s was withdrawn, and its entry in the config file changed since: "
                "the changed entry is a new decision and applies",
                configured.id,
            )
        try:
            await self._put(configured.id, request, "config", existing=existing, extra=remember)
        except InvalidParams as exc:
            raise InvalidParams(
                f"{section}[{configured.id}]: {exc.message}",
                field=exc.field,
                expected=exc.expected,
            ) from None

    async def note_configured(self, configured: ConfiguredSubscription) -> None:
        """Record ``configured`` as applied without applying it: its owner changed the stored
        subscription to match it itself (the Home Assistant bridge following a room's devices),
        so the next start finds it unchanged and leaves the resident's own edits alone."""
        await self.hub.storage.transaction([(META_UPSERT, _config_digest(configured))])

    def _changed(self, sub_id: str) -> None:
        for listener in self._change_listeners:
            listener(sub_id)


def _config_digest(configured: ConfiguredSubscription) -> tuple[str, str]:
    """(meta key, digest) of a config-file subscription entry as applied."""
    body = orjson.dumps(configured.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return CONFIG_DIGEST_KEY + configured.id, hashlib.sha256(body).hexdigest()


def _as_request(active: ActiveSubscription) -> SubscriptionRequest:
    sub = active.subscription
    return SubscriptionRequest(
        receiver=sub.receiver,
        transport=sub.transport,
        endpoint=sub.endpoint,
        secret=active.secret,
        alert_kinds=sub.alert_kinds,
        message_types=sub.message_types,
        devices=sub.devices,
        fields=sub.fields,
        from_escalation=sub.from_escalation,
        give_up_after=sub.give_up_after,
        consent=sub.consent,
    )


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": message.get("type")}
    alert = message.get("data", {}).get("alert")
    if alert:
        out["alert"] = alert.get("id")
        out["kind"] = alert.get("kind")
    elif message.get("subject"):
        out["device"] = message.get("subject")
    if message.get("drill"):
        out["drill"] = True  # the audit row of an exercise says so
    return out


def _safe_endpoint(endpoint: str) -> str:
    """The endpoint without credentials (they never go into the audit log)."""
    parts = urlsplit(endpoint)
    if parts.password is None and parts.username is None:
        return endpoint
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _utc_now_iso() -> str:
    return _utc_now().isoformat()
