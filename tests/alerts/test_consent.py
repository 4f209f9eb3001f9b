"""Consent: nothing leaves the home without a subscription the resident agreed to; only the
granted fields leave; expired or withdrawn consent stops delivery; the audit log has it all.
Deliveries go to a real HTTP receiver that verifies the Standard Webhooks signature."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dhi.errors import InvalidParams
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from hub.consent.audit import AuditAction
from tests.alerts.support import GAS, MOTION, SMOKE, TestHome, running_home
from tests.bridges.receiver import SECRET
from tests.bridges.receiver import Receiver as HttpReceiver

FAST_RETRY = {"outbox": {"base_delay": 0.02, "max_delay": 0.1, "give_up_after": 3600}}


def webhook(url: str, *, consent: Consent | None, **kw: Any) -> SubscriptionRequest:
    return SubscriptionRequest(
        receiver=Receiver(name="阳光社区", kind="community"),
        transport=Transport.WEBHOOK,
        endpoint=url,
        secret=SECRET,
        **({"alert_kinds": ["smoke", "gas_leak"]} | kw),
        consent=consent,
    )


def granted(home: TestHome, **kw: Any) -> Consent:
    return Consent(granted_by="resident:chen", granted_at=home.clock.now(), **kw)


async def audit_actions(home: TestHome) -> list[tuple[str, str | None]]:
    return [(e["action"], e["subscription"]) for e in await home.consent.audit(limit=1000)]


async def no_pending(home: TestHome, timeout: float = 20.0) -> None:
    """Until the outbox has nothing pending (bounded; the outbox worker does the work)."""
    async with asyncio.timeout(timeout):
        while any(state == "pending" for (_, _, state) in await outbox_rows(home)):
            await asyncio.sleep(0.02)


async def outbox_rows(home: TestHome) -> list[tuple[Any, ...]]:
    await home.hub.storage.flush()
    return await home.hub.storage.fetchall("SELECT subscription, message_id, state FROM outbox ORDER BY seq")


async def test_without_a_subscription_nothing_leaves_and_the_log_says_so(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        assert await outbox_rows(home) == []
        [entry] = [e for e in await home.consent.audit() if e["action"] == AuditAction.SHARE_WITHHELD]
        assert entry["detail"]["kind"] == "smoke" and "no subscription" in entry["detail"]["reason"]


async def test_subscription_without_consent_receives_nothing(tmp_path: Path, receiver: HttpReceiver) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        sub = await home.consent.create(webhook(receiver.url, consent=None), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        assert await outbox_rows(home) == []
        assert receiver.received == []
        refused = [e for e in await home.consent.audit() if e["action"] == AuditAction.SHARE_REFUSED]
        assert [e["subscription"] for e in refused] == [sub.id]
        assert refused[0]["detail"]["reason"] == "no consent from the resident"
        # the resident grants it: the next alert goes out (the refused one is not re-sent)
        await home.consent.grant(sub.id, "resident:chen")
        home.add(GAS)
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        await receiver.wait_for(1)
        assert [r.verified["data"]["alert"]["kind"] for r in receiver.received] == ["gas_leak"]
        actions = await audit_actions(home)
        assert (AuditAction.CONSENT_GRANTED, sub.id) in actions
        assert (AuditAction.SHARE_QUEUED, sub.id) in actions


async def test_fields_outside_the_grant_are_absent(tmp_path: Path, receiver: HttpReceiver) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        req = webhook(receiver.url, consent=granted(home), fields=["summary", "count"])
        await home.consent.create(req, actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await receiver.wait_for(1)
        [got] = receiver.received
        event = got.verified
        alert = event["data"]["alert"]
        assert set(alert) == {
            "id",
            "kind",
            "severity",
            "urgency",
            "state",
            "first_seen",
            "last_seen",
            "summary",
            "count",
        }
        for private in ("room", "devices", "home", "summary_zh"):
            assert private not in alert
        assert SMOKE.id not in got.body.decode()  # the device is not in the grant, not even in `source`
        assert event["source"] == "dhome://flat-12" and "seq" not in event
        [queued] = [e for e in await home.consent.audit() if e["action"] == AuditAction.SHARE_QUEUED]
        assert "room" not in queued["detail"]["fields"] and "summary" in queued["detail"]["fields"]


async def test_state_events_with_a_field_grant_hide_the_device(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        req = webhook(
            receiver.url,
            consent=granted(home),
            alert_kinds=[],
            message_types=["org.dhi.v1.state.changed"],
            fields=["capability", "property", "value"],
        )
        await home.consent.create(req, actor="admin")
        home.add(MOTION)
        home.set(MOTION, "dhi.motion", motion=True)
        await home.settle()
        await receiver.wait_for(1)
        event = receiver.received[0].verified
        assert event["data"] == {"capability": "dhi.motion", "property": "motion", "value": True}
        assert "subject" not in event and event["source"] == "dhome://flat-12"


async def test_expired_consent_stops_delivery(tmp_path: Path, receiver: HttpReceiver) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        await home.consent.create(
            webhook(receiver.url, consent=granted(home, expires=home.clock.now() + timedelta(hours=1))),
            actor="admin",
        )
        home.add(SMOKE, GAS)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await receiver.wait_for(1)
        # queued while allowed, but the receiver is away until after the consent ended
        await receiver.down()
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        home.clock.advance(timedelta(hours=2))
        await receiver.up()
        await no_pending(home)
        rows = await outbox_rows(home)
        assert [r[2] for r in rows] == ["delivered", "cancelled"]
        assert [r.verified["data"]["alert"]["kind"] for r in receiver.received] == ["smoke"]
        actions = [a for a, _ in await audit_actions(home)]
        assert AuditAction.SHARE_CANCELLED in actions
        # messages after the expiry are refused at the filter, never queued
        await home.engine.clear(home.open_alerts()[0].id, "staff")
        await home.settle()
        refused = [
            e for e in await home.consent.audit(limit=1000) if e["action"] == AuditAction.SHARE_REFUSED
        ]
        assert refused and refused[-1]["detail"]["reason"].startswith("consent expired")


async def test_withdrawn_consent_cancels_pending_entries(tmp_path: Path, receiver: HttpReceiver) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        await receiver.down()
        sub = await home.consent.create(webhook(receiver.url, consent=granted(home)), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await home.consent.withdraw(sub.id, actor="resident:chen")
        assert home.consent.get_subscription(sub.id) is None
        assert [r[2] for r in await outbox_rows(home)] == ["cancelled"]
        actions = await audit_actions(home)
        assert (AuditAction.CONSENT_WITHDRAWN, sub.id) in actions
        assert (AuditAction.SUBSCRIPTION_WITHDRAWN, sub.id) in actions


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"secret": None}, "secret"),
        ({"secret": "not-a-whsec"}, "secret"),
        ({"endpoint": "ftp://example.invalid/x"}, "endpoint"),
        ({"fields": ["room", "shoe_size"]}, "fields"),
        ({"transport": Transport.CAP_HTTP, "message_types": ["org.dhi.v1.state.changed"]}, "message_types"),
        ({"transport": Transport.MQTT, "endpoint": "dhi/v1"}, "endpoint"),  # no uplink broker configured
    ],
)
async def test_invalid_subscriptions_are_refused_with_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    async with running_home(tmp_path) as home:
        req = webhook("http://127.0.0.1:9/hook", consent=None).model_copy(update=change)
        with pytest.raises(InvalidParams) as err:
            await home.consent.create(req, actor="admin")
        assert err.value.field == field
        assert home.consent.list_subscriptions() == []


async def test_subscriptions_from_the_config_file(tmp_path: Path, receiver: HttpReceiver) -> None:
    subs = [
        {
            "id": "community",
            "receiver": {"name": "阳光社区", "kind": "community"},
            "transport": "webhook",
            "endpoint": receiver.url,
            "secret": SECRET,
            "alert_kinds": ["smoke"],
            "consent": {"granted_by": "resident", "granted_at": "2026-01-01T00:00:00+08:00"},
        }
    ]
    async with running_home(tmp_path, alerts={**FAST_RETRY, "subscriptions": subs}) as home:
        [sub] = home.consent.list_subscriptions()
        assert sub.id == "community" and sub.has_secret
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await receiver.wait_for(1)
    # applied again at the next start: unchanged, so not audited twice
    async with running_home(tmp_path, alerts={**FAST_RETRY, "subscriptions": subs}) as home:
        created = [a for a, _ in await audit_actions(home) if a == AuditAction.SUBSCRIPTION_CREATED]
        assert len(created) == 1


CONFIGURED = {
    "id": "community",
    "receiver": {"name": "阳光社区", "kind": "community"},
    "transport": "webhook",
    "secret": SECRET,
    "alert_kinds": ["smoke", "gas_leak"],
    "consent": {"granted_by": "resident", "granted_at": "2026-01-01T00:00:00+08:00"},
}


async def test_a_withdrawal_of_a_configured_subscription_sticks_across_restarts(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    subs = [CONFIGURED | {"endpoint": receiver.url}]
    alerts = {**FAST_RETRY, "subscriptions": subs}
    async with running_home(tmp_path, alerts=alerts) as home:
        await home.consent.withdraw("community", actor="resident:chen")
    async with running_home(tmp_path, alerts=alerts) as home:
        assert home.consent.list_subscriptions() == []  # the unchanged file does not bring it back
        home.add(GAS)
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        entries = await home.consent.audit(limit=1000)
        assert [(e["action"], e["actor"]) for e in entries if e["action"].startswith("consent.")] == [
            ("consent.granted", "config"),
            ("consent.withdrawn", "resident:chen"),
        ]
        assert any(e["action"] == "share.withheld" for e in entries)
    assert receiver.received == []
    # a changed entry is a new decision of whoever edits the file: it applies, audited as config
    changed = [subs[0] | {"alert_kinds": ["smoke"]}]
    async with running_home(tmp_path, alerts={**FAST_RETRY, "subscriptions": changed}) as home:
        [sub] = home.consent.list_subscriptions()
        assert sub.alert_kinds == ["smoke"]


async def test_a_narrowing_put_reaches_queued_messages(tmp_path: Path, receiver: HttpReceiver) -> None:
    async with running_home(tmp_path, alerts=FAST_RETRY) as home:
        receiver.fail_with = 503
        wide = webhook(receiver.url, consent=granted(home), fields=["room", "summary"])
        sub = await home.consent.create(wide, actor="admin")
        home.add(SMOKE, GAS)
        home.set(GAS, "dhi.gas_leak", gas=True)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        assert [r[2] for r in await outbox_rows(home)] == ["pending", "pending"]
        narrow = wide.model_copy(update={"alert_kinds": ["smoke"], "fields": ["room"]})
        await home.consent.update(sub.id, narrow, actor="resident:chen")
        # at once, not when the receiver is back: the gas alert is withheld with the reason
        assert [r[2] for r in await outbox_rows(home)] == ["cancelled", "pending"]
        withheld = [e for e in await home.consent.audit(limit=1000) if e["action"] == "share.withheld"]
        assert withheld[-1]["actor"] == "resident:chen" and "gas_leak" in withheld[-1]["detail"]["reason"]
        receiver.fail_with = None
        await receiver.wait_for(1)
        await no_pending(home)
        [got] = receiver.received
        alert = json.loads(got.body)["data"]["alert"]
        assert alert["kind"] == "smoke" and "room" in alert and "summary" not in alert


async def test_a_later_link_of_the_care_chain_hears_only_of_unanswered_alerts(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    """``from_escalation: 1``: the community centre is told only once the alert escalated
    (nobody acknowledged it in time); an alert acknowledged before that never reaches it."""
    alerts = FAST_RETRY | {"escalation": {"after": {"Extreme": "2m"}, "max_level": 2}}
    async with running_home(tmp_path, alerts=alerts) as home:
        sub = await home.consent.create(
            webhook(receiver.url, consent=granted(home), from_escalation=1), actor="admin"
        )
        assert sub.from_escalation == 1
        home.add(SMOKE, GAS)
        # answered in time: stays with the first link (none here), never reaches this one
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        [gas] = home.open_alerts()
        await home.engine.acknowledge(gas.id, "family:daughter")
        # not answered: escalates after 2 minutes and then reaches the community centre
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await no_pending(home)
        assert receiver.received == []
        await home.advance(timedelta(minutes=3))
        await receiver.wait_for(1)
        got = [(r.verified["type"], r.verified["data"]["alert"]["kind"]) for r in receiver.received]
        assert got[0] == ("org.dhi.v1.alert.updated", "smoke")
        assert all(kind == "smoke" for _, kind in got)
        assert receiver.received[0].verified["data"]["alert"]["escalation"] >= 1
