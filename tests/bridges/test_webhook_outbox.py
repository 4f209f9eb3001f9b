"""Webhook delivery through the durable outbox to a real HTTP receiver: signatures verify with
the Standard Webhooks reference library, a receiver that is away gets everything once it is
back (in order, ids stable), and a receiver that never takes a message dead-letters it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from dhi.models.subscription import Consent, Receiver, Subscription, SubscriptionRequest, Transport
from hub.alerts.config import OutboxConfig
from hub.bridges.webhook import CONTENT_TYPE, body_of, signed_headers
from hub.delivery import OutboxEntry
from hub.outbox import Outbox, backoff
from tests.alerts.support import GAS, SMOKE, SOS, TestHome, running_home
from tests.bridges.receiver import SECRET
from tests.bridges.receiver import Receiver as HttpReceiver


def request(url: str, home: TestHome) -> SubscriptionRequest:
    return SubscriptionRequest(
        receiver=Receiver(name="Property office", kind="property"),
        transport=Transport.WEBHOOK,
        endpoint=url,
        secret=SECRET,
        alert_kinds=["smoke", "gas_leak", "sos"],
        consent=Consent(granted_by="resident", granted_at=home.clock.now()),
    )


def outbox_of(home: TestHome) -> Outbox:
    return next(s for s in home.hub.services if isinstance(s, Outbox))


def metric(home: TestHome, name: str, **labels: str) -> float:
    value = home.hub.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_signed_cloudevent_verifies_with_the_reference_library(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    async with running_home(tmp_path) as home:
        await home.consent.create(request(receiver.url, home), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await receiver.wait_for(1)
    [got] = receiver.received
    assert got.content_type == "application/cloudevents+json"
    event = got.verified  # the receiver already verified it; verify again by hand to be explicit
    assert Webhook(SECRET).verify(got.body, got.headers) == event
    assert event["specversion"] == "1.0" and event["type"] == "org.dhi.v1.alert.raised"
    assert got.message_id == event["id"] == f"{event['data']['alert']['id']}.raised"
    assert receiver.rejected == 0


@given(
    payload=st.dictionaries(
        st.text(min_size=1, max_size=10), st.text(max_size=30) | st.integers(), max_size=5
    ),
    message_id=st.text(alphabet="abcdef0123456789-.", min_size=1, max_size=40),
)
def test_signature_matches_the_reference_for_any_body(payload: dict[str, Any], message_id: str) -> None:
    sub = Subscription(
        id="s1",
        receiver=Receiver(name="x"),
        transport=Transport.WEBHOOK,
        endpoint="http://127.0.0.1/x",
        alert_kinds=["smoke"],
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    entry = OutboxEntry(1, sub, SECRET, message_id, payload)
    body = body_of(entry)
    headers = signed_headers(entry, body)
    assert Webhook(SECRET).verify(body.encode(), headers, json_parse=False) is None
    assert CONTENT_TYPE.startswith("application/cloudevents+json")


async def test_receiver_down_for_a_while_gets_everything_in_order(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    fast = {"outbox": {"base_delay": 0.02, "max_delay": 0.2, "give_up_after": 3600}}
    async with running_home(tmp_path, alerts=fast) as home:
        sub = await home.consent.create(request(receiver.url, home), actor="admin")
        await receiver.down()
        home.add(SMOKE, GAS, SOS)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        home.set(GAS, "dhi.gas_leak", gas=True)
        home.event(SOS, "dhi.sos", "pressed", kind="panic")
        await home.settle()
        # while it is down the entries wait, and failed attempts are counted
        async with asyncio.timeout(20):
            while metric(home, "dhome_outbox_failed_attempts_total", subscription=sub.id) < 3:
                await asyncio.sleep(0.02)
        deliveries = await home.consent.deliveries(sub.id)
        assert {d["state"] for d in deliveries} == {"pending"} and len(deliveries) == 3
        assert all(d["last_error"] for d in deliveries[-1:])
        assert metric(home, "dhome_outbox_depth", subscription=sub.id, state="pending") == 3
        await receiver.up()
        await receiver.wait_for(3)
        kinds = [r.verified["data"]["alert"]["kind"] for r in receiver.received]
        assert kinds == ["smoke", "gas_leak", "sos"]  # ordered per subscription
        async with asyncio.timeout(10):
            while metric(home, "dhome_outbox_depth", subscription=sub.id, state="pending") != 0:
                await asyncio.sleep(0.02)
        assert metric(home, "dhome_messages_out_total", channel="webhook") == 3


async def dead_of(home: Any, sub_id: str) -> list[dict[str, Any]]:
    async with asyncio.timeout(20):
        while not (dead := await home.consent.deliveries(sub_id, state="dead")):
            await asyncio.sleep(0.02)
    return list(dead)


async def test_dead_letter_after_the_retry_span_is_visible_and_can_be_resent(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    # a compressed schedule: retries for 1.5 s instead of a day (long enough for a second
    # attempt even when a loaded machine makes one loopback round trip take a few hundred ms)
    limited = {"outbox": {"base_delay": 0.01, "max_delay": 0.05, "give_up_after": 1.5}}
    async with running_home(tmp_path, alerts=limited) as home:
        receiver.fail_with = 503
        sub = await home.consent.create(request(receiver.url, home), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        [dead] = await dead_of(home, sub.id)
        # kept retrying, not given up at the first 503 (how many attempts fit into the span
        # depends on the machine's load: the span, not a count, is the rule)
        assert dead["attempts"] >= 2 and "503" in dead["last_error"]
        assert dead["kind"] == "smoke"
        async with asyncio.timeout(20):  # both set by the outbox after its commit, which we saw
            while (
                metric(home, "dhome_outbox_dead_letters_total", subscription=sub.id) != 1
                or metric(home, "dhome_outbox_depth", subscription=sub.id, state="dead") != 1
            ):
                await asyncio.sleep(0.02)
        assert any(e["action"] == "share.dead_letter" for e in await home.consent.audit())
        receiver.fail_with = None
        assert await home.consent.retry(sub.id, actor="admin", message_id=dead["message_id"]) == 1
        await receiver.wait_for(1)
        assert receiver.received[0].message_id == dead["message_id"]
        requeued = [e for e in await home.consent.audit() if e["action"] == "share.requeued"]
        assert [(e["actor"], e["message_id"]) for e in requeued] == [("admin", dead["message_id"])]


async def test_a_subscription_may_retry_longer_than_the_hub_default(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    limited = {"outbox": {"base_delay": 0.01, "max_delay": 0.02, "give_up_after": 0.05}}
    async with running_home(tmp_path, alerts=limited) as home:
        receiver.fail_with = 503
        sub = await home.consent.create(
            request(receiver.url, home).model_copy(update={"give_up_after": 3600}), actor="admin"
        )
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        async with asyncio.timeout(20):
            while metric(home, "dhome_outbox_failed_attempts_total", subscription=sub.id) < 10:
                await asyncio.sleep(0.02)
        assert await home.consent.deliveries(sub.id, state="dead") == []
        receiver.fail_with = None
        await receiver.wait_for(1)


async def test_gone_dead_letters_at_once_and_disables_the_subscription(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    async with running_home(tmp_path) as home:
        receiver.fail_with = 410
        sub = await home.consent.create(request(receiver.url, home), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        [dead] = await dead_of(home, sub.id)
        assert dead["attempts"] == 1 and "410" in dead["last_error"]
        disabled = home.consent.get_subscription(sub.id).disabled
        assert disabled is not None and "410" in disabled.reason
        actions = [e["action"] for e in await home.consent.audit()]
        assert "subscription.disabled" in actions
        # while disabled, nothing more is queued for the receiver: refused and audited
        home.add(GAS)
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        refused = [e for e in await home.consent.audit() if e["action"] == "share.refused"]
        assert refused and "410" in refused[-1]["detail"]["reason"]
        # the resident confirms it again (PUT) and resends the dead letter
        receiver.fail_with = None
        again = await home.consent.update(sub.id, request(receiver.url, home), actor="admin")
        assert again.disabled is None
        assert await home.consent.retry(sub.id, actor="admin") == 1
        await receiver.wait_for(1)
        assert receiver.received[0].message_id == dead["message_id"]


@given(attempt=st.integers(min_value=1, max_value=200), base=st.floats(0.01, 10), cap=st.floats(10, 3600))
def test_backoff_is_exponential_capped_and_jittered(attempt: int, base: float, cap: float) -> None:
    cfg = OutboxConfig(base_delay=base, max_delay=cap)
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = backoff(attempt, cfg)
    assert ceiling / 2 <= delay <= ceiling
    assert backoff(attempt + 1, cfg) >= ceiling / 2  # never shrinks below the last floor
