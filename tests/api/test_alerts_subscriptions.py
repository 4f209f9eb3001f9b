"""Alerts and subscriptions through the API, served by the real alert engine and consent service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dhi.models import MessageType
from hub.alerts.engine import AlertEngine
from hub.api.models import Scope
from hub.bus import Filter
from hub.consent import ConsentService
from tests.api.support import SMOKE, Harness, probe_ctx, running_hub

WEBHOOK = {
    "receiver": {"name": "Community care centre", "kind": "care"},
    "transport": "webhook",
    "endpoint": "https://care.example/hooks/dhome",
    "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "alert_kinds": ["smoke", "fall"],
}


@pytest.fixture
async def full_hub(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_hub(tmp_path, extra_services=[AlertEngine(), ConsentService()]) as h:
        yield h


async def call(
    http: aiohttp.ClientSession, h: Harness, method: str, path: str, scope: Scope, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, h.url + path, json=body, headers=h.auth(scope)) as resp:
        data = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, data


async def test_a_smoke_alarm_becomes_an_alert_that_an_alerts_token_acknowledges(
    full_hub: Harness, http: aiohttp.ClientSession
) -> None:
    raised = full_hub.hub.bus.subscribe("test-alerts", Filter.of(types=[MessageType.ALERT_RAISED.value]))
    probe_ctx(full_hub.hub).publish_state(SMOKE, "dhi.smoke_alarm", {"smoke": True})
    async with asyncio.timeout(10):
        message = await raised.get()
    alert_id = message.data.alert.id

    status, listed = await call(http, full_hub, "GET", "/alerts?state=active", Scope.READ)
    assert status == 200
    assert [a["id"] for a in listed["items"]] == [alert_id]
    assert listed["items"][0]["kind"] == "smoke" and SMOKE in listed["items"][0]["devices"]

    status, problem = await call(http, full_hub, "POST", f"/alerts/{alert_id}/ack", Scope.READ)
    assert status == 403 and problem["code"] == "forbidden"
    status, acked = await call(http, full_hub, "POST", f"/alerts/{alert_id}/ack", Scope.ALERTS)
    assert status == 200
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"].startswith("token:")
    status, again = await call(http, full_hub, "POST", f"/alerts/{alert_id}/ack", Scope.ALERTS)
    assert status == 200 and again["acknowledged_at"] == acked["acknowledged_at"]  # idempotent

    status, one = await call(http, full_hub, "GET", f"/alerts/{alert_id}", Scope.READ)
    assert status == 200 and one["state"] == "acknowledged"
    status, _ = await call(http, full_hub, "GET", "/alerts/no-such-alert", Scope.READ)
    assert status == 404
    status, _ = await call(http, full_hub, "POST", "/alerts/no-such-alert/ack", Scope.ALERTS)
    assert status == 404


async def test_subscription_lifecycle_and_the_audit_log(
    full_hub: Harness, http: aiohttp.ClientSession
) -> None:
    status, _ = await call(http, full_hub, "POST", "/subscriptions", Scope.CONTROL, WEBHOOK)
    assert status == 403
    status, sub = await call(http, full_hub, "POST", "/subscriptions", Scope.ADMIN, WEBHOOK)
    assert status == 201, sub
    assert sub["has_secret"] is True and "secret" not in sub
    sub_id = sub["id"]

    status, listed = await call(http, full_hub, "GET", "/subscriptions", Scope.READ)
    assert [s["id"] for s in listed["items"]] == [sub_id]
    status, one = await call(http, full_hub, "GET", f"/subscriptions/{sub_id}", Scope.READ)
    assert status == 200 and one["receiver"]["name"] == "Community care centre"

    change = WEBHOOK | {"alert_kinds": ["smoke"], "secret": None}
    status, updated = await call(http, full_hub, "PUT", f"/subscriptions/{sub_id}", Scope.ADMIN, change)
    assert status == 200, updated
    assert updated["alert_kinds"] == ["smoke"]

    status, deliveries = await call(http, full_hub, "GET", f"/subscriptions/{sub_id}/deliveries", Scope.READ)
    assert status == 200 and deliveries == {"items": []}

    bad = WEBHOOK | {"endpoint": "ftp://nowhere"}
    status, problem = await call(http, full_hub, "POST", "/subscriptions", Scope.ADMIN, bad)
    assert status == 422 and problem["invalid-params"][0]["name"] == "endpoint"
    status, problem = await call(http, full_hub, "POST", "/subscriptions", Scope.ADMIN, {"receiver": {}})
    assert status == 422 and problem["code"] == "invalid_params"

    status, _ = await call(http, full_hub, "DELETE", f"/subscriptions/{sub_id}", Scope.ADMIN)
    assert status == 204
    status, _ = await call(http, full_hub, "GET", f"/subscriptions/{sub_id}", Scope.READ)
    assert status == 404
    status, _ = await call(http, full_hub, "DELETE", f"/subscriptions/{sub_id}", Scope.ADMIN)
    assert status == 404

    status, audit = await call(http, full_hub, "GET", "/audit", Scope.ADMIN)
    assert status == 200
    actions = [e["action"] for e in audit["items"] if e["subscription"] == sub_id]
    assert actions and all(
        e["actor"].startswith("token:") for e in audit["items"] if e["subscription"] == sub_id
    )
    assert audit["next"] == audit["items"][-1]["seq"]
    status, rest = await call(http, full_hub, "GET", f"/audit?since={audit['next']}", Scope.ADMIN)
    assert rest == {"items": [], "next": audit["next"]}


async def test_dead_letters_are_listed_by_status_and_resent_through_the_api(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    from hub.outbox import Outbox
    from tests.bridges.receiver import SECRET, Receiver

    receiver = Receiver()
    await receiver.up()
    consent = ConsentService()
    try:
        async with running_hub(tmp_path, extra_services=[AlertEngine(), consent, Outbox(consent)]) as h:
            receiver.fail_with = 410  # dead at once, and the subscription disabled
            body = WEBHOOK | {
                "endpoint": receiver.url, "secret": SECRET,
                "consent": {"granted_by": "resident", "granted_at": "2020-01-01T00:00:00Z"},
            }  # fmt: skip
            status, sub = await call(http, h, "POST", "/subscriptions", Scope.ADMIN, body)
            assert status == 201, sub
            probe_ctx(h.hub).publish_state(SMOKE, "dhi.smoke_alarm", {"smoke": True})
            path = f"/subscriptions/{sub['id']}/deliveries"
            async with asyncio.timeout(20):
                while not (await call(http, h, "GET", path + "?status=dead", Scope.READ))[1]["items"]:
                    await asyncio.sleep(0.05)
            _, dead = await call(http, h, "GET", path + "?status=dead", Scope.READ)
            [entry] = dead["items"]
            assert entry["state"] == "dead" and entry["kind"] == "smoke" and "410" in entry["last_error"]
            assert (await call(http, h, "GET", path + "?status=pending", Scope.READ))[1]["items"] == []
            status, problem = await call(http, h, "GET", path + "?status=lost", Scope.READ)
            assert status == 400 and problem["invalid-params"][0]["name"] == "status"
            _, disabled = await call(http, h, "GET", f"/subscriptions/{sub['id']}", Scope.READ)
            assert "410" in disabled["disabled"]["reason"]

            mid = entry["message_id"]
            status, _ = await call(http, h, "POST", f"{path}/{mid}/retry", Scope.READ)
            assert status == 403
            status, _ = await call(http, h, "POST", f"{path}/nonesuch/retry", Scope.ADMIN)
            assert status == 404
            receiver.fail_with = None
            status, again = await call(http, h, "PUT", f"/subscriptions/{sub['id']}", Scope.ADMIN, body)
            assert status == 200 and "disabled" not in again
            status, done = await call(http, h, "POST", f"{path}/{mid}/retry", Scope.ADMIN)
            assert status == 202 and done == {"requeued": 1}
            await receiver.wait_for(1)
            assert receiver.received[0].message_id == mid
            async with asyncio.timeout(20):
                while (await call(http, h, "GET", path + "?status=delivered", Scope.READ))[1]["items"] == []:
                    await asyncio.sleep(0.05)
            status, problem = await call(http, h, "POST", f"{path}/{mid}/retry", Scope.ADMIN)
            assert status == 409 and "delivered" in problem["detail"]
            status, done = await call(http, h, "POST", f"{path}/retry", Scope.ADMIN)
            assert status == 202 and done == {"requeued": 0}
            _, audit = await call(http, h, "GET", "/audit?limit=1000", Scope.ADMIN)
            actions = [e["action"] for e in audit["items"]]
            assert "subscription.disabled" in actions and "share.requeued" in actions
    finally:
        await receiver.down()
