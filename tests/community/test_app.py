"""The platform's HTTP side in-process (aiohttp test server, real SQLite file): enrolment by code,
signed intake with the replay window, the console's sign-in, roles and conflicts, the
acknowledgement poll, the CAP feed (OASIS XSD) and exports with only consented fields."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from community.app import create_app
from community.config import ConfigError, Settings, load
from community.reports import ATOM_NS, CAP_NS
from community.web import STORE
from dhi.alertkinds import default_alert_kinds
from dhi.models import SubscriptionRequest
from hub.bridges.platform_link import Enrolment
from hub.cli.run import default_services
from hub.config import parse_config
from hub.core import Hub
from tests.community.conftest import alert_event
from tests.support.net import free_port

REPORT_TOKEN = "district-token-0123456789"


class Platform:
    def __init__(self, server: TestServer, session: ClientSession) -> None:
        self.server, self.http = server, session

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        headers.setdefault("X-Requested-With", "console")
        async with self.http.request(method, self.url(path), json=body, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def enrol(self, home: str, kinds: list[str]) -> str:
        status, made = await self.call("POST", "/console/api/codes", {"label": home})
        assert status == 201, made
        status, answer = await self.call("POST", "/dhi/v1/enrol", {
            "code": made["code"], "home": home, "household": {"name": "陈阿姨", "address": "3号楼 501"},
            "consent": {"alert_kinds": kinds, "fields": ["room"]},
        })  # fmt: skip
        assert status == 201, answer
        assert answer["webhook"]["url"].endswith(f"/dhi/v1/homes/{home}/events")
        return str(answer["webhook"]["secret"])

    async def deliver(
        self, home: str, secret: str, event: dict[str, Any], *, at: datetime | None = None
    ) -> int:
        body = json.dumps(event)
        stamp = at or datetime.now(UTC)
        headers = {"webhook-id": event["id"], "webhook-timestamp": str(int(stamp.timestamp())),
                   "webhook-signature": Webhook(secret).sign(event["id"], stamp, body),
                   "Content-Type": "application/cloudevents+json"}  # fmt: skip
        async with self.http.post(
            self.url(f"/dhi/v1/homes/{home}/events"), data=body, headers=headers
        ) as resp:
            return resp.status


async def signed_in(server: TestServer, user: str, password: str) -> ClientSession:
    session = ClientSession(cookie_jar=CookieJar(unsafe=True))  # unsafe: keeps cookies of an IP address
    async with session.post(
        server.make_url("/console/api/session"), json={"username": user, "password": password}
    ) as r:
        assert r.status == 200, await r.text()
    return session


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    port = free_port()  # the platform's public URL is its real address: a hub can follow it
    settings = Settings(database=f"sqlite:///{tmp_path / 'c.db'}", report_tokens=[REPORT_TOKEN],
                        cap={"sender": "centre@example.org", "area_code": "110105"},
                        public_url=f"http://127.0.0.1:{port}")  # fmt: skip
    app = create_app(settings)
    store = app[STORE]
    store.add_staff("boss", "张主管", "supervisor", "password-boss")
    store.add_staff("wang", "王芳", "duty", "password-wang")
    store.add_staff("li", "李强", "duty", "password-li")
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    session = await signed_in(server, "boss", "password-boss")
    try:
        yield Platform(server, session)
    finally:
        await session.close()
        await server.close()


async def test_enrolment_code_then_signed_intake_stored_once(platform: Platform) -> None:
    secret = await platform.enrol("flat-1", ["smoke", "sos"])
    event = alert_event("flat-1", "a1", room="kitchen")
    for _ in range(3):  # the first delivery and two redeliveries
        assert await platform.deliver("flat-1", secret, event) == 200
    status, queue = await platform.call("GET", "/console/api/queue")
    assert status == 200 and [(a["id"], a["household"], a["room"]) for a in queue["items"]] == [
        ("a1", "陈阿姨", "kitchen")
    ]
    _, health = await platform.call("GET", "/health")
    assert health["rows"]["messages"] == 1 and health["rows"]["alerts"] == 1
    _, metrics = await platform.call("GET", "/metrics")
    assert 'community_webhooks_total{outcome="stored"} 1.0' in metrics
    assert 'community_webhooks_total{outcome="duplicate"} 2.0' in metrics
    # the same code twice: refused, naming the field
    status, problem = await platform.call("POST", "/dhi/v1/enrol", {"code": "AAAA-BBBB-CCCC", "home": "flat-2",
                                                                    "household": {"name": "x"}})  # fmt: skip
    assert status == 404 and problem["field"] == "code"


async def test_signatures_secrets_and_the_replay_window(platform: Platform) -> None:
    secret = await platform.enrol("flat-1", ["smoke"])
    other = await platform.enrol("flat-2", ["smoke"])
    event = alert_event("flat-1", "a1")
    assert await platform.deliver("flat-1", other, event) == 401  # another home's secret
    assert (
        await platform.deliver("flat-1", secret, event, at=datetime.fromtimestamp(time.time() - 600, UTC))
        == 401
    )
    assert await platform.deliver("flat-9", secret, event) == 404  # not enrolled
    assert await platform.deliver("flat-2", other, event) == 400  # source is another home
    assert await platform.deliver("flat-1", secret, event) == 200
    _, metrics = await platform.call("GET", "/metrics")
    assert 'community_webhooks_total{outcome="rejected"} 3.0' in metrics


async def test_two_staff_one_alert_and_the_ack_poll(platform: Platform) -> None:
    secret = await platform.enrol("flat-1", ["sos"])
    await platform.deliver("flat-1", secret, alert_event("flat-1", "a1", "sos", severity="Severe"))
    wang = await signed_in(platform.server, "wang", "password-wang")
    li = await signed_in(platform.server, "li", "password-li")
    poll_body = json.dumps({"after": 0, "wait": 20})
    stamp = datetime.now(UTC)
    poll_headers = {"webhook-id": "poll_1", "webhook-timestamp": str(int(stamp.timestamp())),
                    "webhook-signature": Webhook(secret).sign("poll_1", stamp, poll_body)}  # fmt: skip
    try:
        # the hub's poll is waiting before anyone acts, and answers when someone does
        poll = asyncio.ensure_future(platform.http.post(platform.url("/dhi/v1/homes/flat-1/acks"), data=poll_body,
                                                        headers=poll_headers))  # fmt: skip
        await asyncio.sleep(0.3)
        assert not poll.done()
        url = platform.url("/console/api/alerts/flat-1/a1/acknowledge")
        hdr = {"X-Requested-With": "console"}
        async with (
            wang.post(url, json={"note": "我去"}, headers=hdr) as r1,
            li.post(url, json={}, headers=hdr) as r2,
        ):
            answers = sorted([(r1.status, await r1.json()), (r2.status, await r2.json())], key=lambda x: x[0])
        (ok_status, taken), (conflict_status, problem) = answers
        assert (ok_status, conflict_status) == (200, 409)
        assert problem["detail"].startswith(f"already acknowledged by {taken['acked_by']}")
        async with await poll as resp:
            acks = await resp.json()
        assert [(a["alert_id"], a["action"]) for a in acks["items"]] == [("a1", "acknowledge")]
        assert acks["next"] == acks["items"][0]["seq"]
        # a duty member may not assign; changes need the console's header
        async with wang.post(
            platform.url("/console/api/alerts/flat-1/a1/assign"), json={"to": "li"}, headers=hdr
        ) as r:
            assert r.status == 403
        async with wang.post(platform.url("/console/api/alerts/flat-1/a1/resolve"), json={}) as r:
            assert r.status == 403
    finally:
        await wang.close()
        await li.close()


async def test_cap_feed_is_xsd_valid_and_exports_carry_only_consented_fields(
    platform: Platform, shared_fixtures: Path
) -> None:
    secret = await platform.enrol("flat-1", ["smoke", "fall"])
    await platform.deliver(
        "flat-1", secret, alert_event("flat-1", "a1", "smoke", room="kitchen", summary="Smoke")
    )
    await platform.deliver("flat-1", secret, alert_event("flat-1", "a2", "fall", severity="Severe"))
    await platform.deliver("flat-1", secret, alert_event("flat-1", "a3", "smoke", drill=True))
    async with ClientSession() as anon:
        async with anon.get(platform.url("/feeds/cap.atom")) as r:
            assert r.status == 401
        async with anon.get(
            platform.url("/feeds/cap.atom"), headers={"Authorization": f"Bearer {REPORT_TOKEN}"}
        ) as r:
            assert r.status == 200 and r.content_type == "application/atom+xml"
            feed = ET.fromstring(await r.read())
    schema = xmlschema.XMLSchema(shared_fixtures / "cap" / "CAP-v1.2.xsd")
    caps = feed.findall(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}content/{{{CAP_NS}}}alert")
    assert len(caps) == 3
    for cap in caps:
        schema.validate(ET.tostring(cap, encoding="unicode"))
    # a drill's alert is an exercise upstream too (spec §8.3)
    statuses = {c.findtext(f"{{{CAP_NS}}}incidents"): c.findtext(f"{{{CAP_NS}}}status") for c in caps}
    assert statuses == {"flat-1.a1": "Actual", "flat-1.a2": "Actual", "flat-1.a3": "Exercise"}
    text = ET.tostring(feed, encoding="unicode")
    assert "陈阿姨" not in text and "3号楼" not in text  # the household's details stay on the platform
    _, exported = await platform.call("GET", "/export/alerts.json")
    assert {tuple(sorted(r)) for r in exported["items"]} >= {("desk", "first_seen", "home", "id", "kind", "last_seen",
                                                               "room", "severity", "state", "summary")}  # fmt: skip
    assert all("household" not in r and "address" not in r for r in exported["items"])
    status, text_csv = await platform.call("GET", "/export/alerts.csv")
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert status == 200 and sorted(r["kind"] for r in rows) == ["fall", "smoke", "smoke"]


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("port: 99999\ndatabase: mysql://x\nnope: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    message = str(err.value)
    assert "port:" in message and "database:" in message and "nope:" in message


async def test_alert_kinds_are_the_interfaces_in_the_console_and_the_cap_feed(platform: Platform) -> None:
    kinds = default_alert_kinds()
    status, me = await platform.call("GET", "/console/api/me")
    assert status == 200
    assert me["kinds"] == {k: kinds[k].label.model_dump(by_alias=True) for k in kinds}
    secret = await platform.enrol("flat-1", ["gas_leak"])
    await platform.deliver("flat-1", secret, alert_event("flat-1", "g1", "gas_leak", room="kitchen"))
    async with platform.http.get(
        platform.url("/feeds/cap.atom"), headers={"Authorization": f"Bearer {REPORT_TOKEN}"}
    ) as r:
        feed = ET.fromstring(await r.read())
    infos = feed.findall(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}content/{{{CAP_NS}}}alert/{{{CAP_NS}}}info")
    gas = kinds["gas_leak"]
    assert infos and all(i.findtext(f"{{{CAP_NS}}}category") == gas.cap.category.value for i in infos)
    assert all(i.findtext(f"{{{CAP_NS}}}certainty") == gas.cap.certainty.value for i in infos)
    assert {i.findtext(f"{{{CAP_NS}}}event") for i in infos} <= {gas.label.zh_cn, gas.label.en}


async def test_the_household_record_follows_the_residents_consent(platform: Platform, tmp_path: Path) -> None:
    """End to end in one process: a real hub enrols with a code; the resident narrows the alert
    kinds, then withdraws on the hub. Over the hub's own link the household record follows each
    change at once; after the withdrawal its address and contacts are gone, a late webhook from
    the home is refused (410) and stored nowhere, and upward reports leave the household out."""
    status, made = await platform.call("POST", "/console/api/codes", {"label": "flat-7"})
    assert status == 201, made
    cfg = parse_config({"home": {"id": "flat-7", "name": "Flat 7"}, "api": {"enabled": False},
                        "mdns": {"enabled": False}, "adapters": []}, "<test>")  # fmt: skip
    hub = Hub(cfg, data_dir=tmp_path / "hub")
    default_services(hub)

    async def household() -> dict[str, Any]:
        _, listed = await platform.call("GET", "/console/api/households")
        return next(h for h in listed["items"] if h["home"] == "flat-7")

    async def until(check: Any, what: str) -> dict[str, Any]:
        async with asyncio.timeout(20):
            while not check(found := await household()):
                await asyncio.sleep(0.05)
        return found

    async with hub:
        assert hub.platform_links is not None and hub.subscriptions is not None
        sub = await hub.platform_links.enrol(
            Enrolment(platform=platform.url("/"), code=made["code"],
                      household={"name": "陈阿姨", "address": "3号楼 501", "contacts": [{"name": "陈明", "phone": "13800000000"}]},
                      alert_kinds=["smoke", "fall", "sos"], fields=["room"]),
            actor="resident",
        )  # fmt: skip
        first = await until(lambda h: h["consent"].get("expires", "-") is None, "the first poll's consent")
        assert first["sharing"] and first["consent"]["alert_kinds"] == ["smoke", "fall", "sos"]
        secret = (await hub.storage.fetchone("SELECT secret FROM subscriptions WHERE id = ?", (sub.id,)))[0]
        assert (
            await platform.deliver("flat-7", secret, alert_event("flat-7", "a1", "smoke", room="kitchen"))
            == 200
        )

        # the resident shares only smoke from now on
        fields = set(SubscriptionRequest.model_fields) - {"secret"}
        narrower = SubscriptionRequest.model_validate(
            {**sub.model_dump(include=fields), "alert_kinds": ["smoke"]}
        )
        await hub.subscriptions.update(sub.id, narrower, actor="resident")
        narrowed = await until(lambda h: h["consent"]["alert_kinds"] == ["smoke"], "the narrowed consent")
        assert narrowed["sharing"] and narrowed["consent"]["fields"] == ["room"]

        # … and then withdraws: the record says so, and its details are erased
        await hub.subscriptions.withdraw(sub.id, actor="resident")
        gone = await until(lambda h: not h["sharing"], "the withdrawal")
        assert gone["withdrawn_at"] and gone["address"] == "" and gone["contacts"] == []
        assert gone["name"] == "陈阿姨" and gone["consent"]["alert_kinds"] == []
        # the hub's link ended with the subscription
        async with asyncio.timeout(10):
            while await hub.storage.fetchone("SELECT 1 FROM meta WHERE key LIKE 'platform_link:%'"):
                await asyncio.sleep(0.05)

    # a late redelivery signed by the home: refused, and nothing more is stored
    assert await platform.deliver("flat-7", secret, alert_event("flat-7", "a2", "smoke")) == 410
    _, health = await platform.call("GET", "/health")
    assert health["rows"]["alerts"] == 1
    _, metrics = await platform.call("GET", "/metrics")
    assert 'community_webhooks_total{outcome="withdrawn"} 1.0' in metrics
    assert 'community_consent_changes_total{change="withdrawn"} 1.0' in metrics
    assert 'community_consent_changes_total{change="changed"} 2.0' in metrics  # first poll + narrowing
    # what the household shared before is not passed upwards any more
    _, exported = await platform.call("GET", "/export/alerts.json")
    assert exported["items"] == []
    _, feed = await platform.call("GET", "/feeds/cap.atom")
    assert "a1" not in feed


async def test_an_admin_manages_staff_accounts_from_the_console(platform: Platform) -> None:
    """Only an admin lists, adds and disables accounts; a new account's initial password is
    shown once (in the answer to the add, nowhere else); a disabled account's sessions end and
    it cannot sign in again; every change is audited with who made it."""
    store = platform.server.app[STORE]
    store.add_staff("root", "刘管理", "admin", "password-root")
    status, _ = await platform.call("GET", "/console/api/staff")  # boss is a supervisor, not an admin
    assert status == 403
    admin = Platform(platform.server, await signed_in(platform.server, "root", "password-root"))
    try:
        status, listed = await admin.call("GET", "/console/api/staff")
        assert status == 200 and [s["username"] for s in listed["items"]] == ["boss", "li", "root", "wang"]
        status, made = await admin.call(
            "POST", "/console/api/staff", {"username": "zhao", "name": "赵敏", "role": "duty"}
        )
        assert status == 201 and made["username"] == "zhao" and len(made["password"]) >= 16, made
        status, again = await admin.call(
            "POST", "/console/api/staff", {"username": "zhao", "name": "赵", "role": "duty"}
        )
        assert status == 409, again
        status, bad = await admin.call("POST", "/console/api/staff", {"username": "Zhao Min", "name": "赵敏"})
        assert (status, bad["field"]) == (400, "username"), bad
        status, bad = await admin.call(
            "POST", "/console/api/staff", {"username": "qian", "name": "钱", "role": "boss"}
        )
        assert (status, bad["field"]) == (400, "role"), bad

        # the initial password was seen by the admin: zhao replaces it before anything else
        zhao = await signed_in(platform.server, "zhao", made["password"])
        other_device = await signed_in(platform.server, "zhao", made["password"])
        async with zhao.get(platform.url("/console/api/me")) as r:
            shown_me = await r.json()
            assert r.status == 200 and shown_me["role"] == "duty" and shown_me["must_change_password"] is True
        async with zhao.get(platform.url("/console/api/queue")) as r:
            assert (r.status, (await r.json())["code"]) == (403, "password_change_required")

        async def change(current: str, new: str) -> tuple[int, Any]:
            async with zhao.post(platform.url("/console/api/password"), json={"current": current, "new": new},
                                 headers={"X-Requested-With": "console"}) as r:  # fmt: skip
                return r.status, (await r.json() if r.status != 204 else None)

        status, bad = await change("not-the-password", "zhao-own-secret")
        assert (status, bad["field"]) == (403, "current"), bad
        for weak in ("short", made["password"], "ZHAO"):  # too short, unchanged, the user name
            status, bad = await change(made["password"], weak if weak != "ZHAO" else "Zhao")
            assert (status, bad["field"]) == (400, "new"), (weak, bad)
        assert (await change(made["password"], "zhao-own-secret"))[0] == 204
        async with zhao.get(platform.url("/console/api/queue")) as r:
            assert r.status == 200
        async with other_device.get(platform.url("/console/api/me")) as r:
            assert r.status == 401  # whoever else knew the initial password is signed out
        await other_device.close()
        async with zhao.post(platform.url("/console/api/session"),
                             json={"username": "zhao", "password": made["password"]}) as r:  # fmt: skip
            assert r.status == 401
        status, _ = await platform.call("GET", "/console/api/queue")
        assert status == 200  # an account made with the CLI chose its own password
        status, _ = await admin.call("POST", "/console/api/staff/zhao/disable")
        assert status == 200
        async with zhao.get(platform.url("/console/api/me")) as r:
            assert r.status == 401  # the session ended with the account
        async with zhao.post(platform.url("/console/api/session"),
                             json={"username": "zhao", "password": "zhao-own-secret"}) as r:  # fmt: skip
            assert r.status == 401
        await zhao.close()
        status, _ = await admin.call("POST", "/console/api/staff/root/disable")
        assert status == 409  # an admin cannot lock themselves out
        status, _ = await admin.call("POST", "/console/api/staff/nobody/disable")
        assert status == 404

        status, listed = await admin.call("GET", "/console/api/staff")
        shown = {s["username"]: s for s in listed["items"]}
        assert shown["zhao"]["disabled_at"] and shown["root"]["disabled_at"] is None
        assert [(a["actor"], a["action"], a["username"]) for a in listed["audit"]] == [
            ("root", "disabled", "zhao"), ("zhao", "password", "zhao"), ("root", "created", "zhao"),
        ]  # fmt: skip
        assert made["password"] not in json.dumps(listed)
    finally:
        await admin.http.close()
