"""The community platform end to end, on real processes: ``dhome-community serve`` (SQLite, then
a real PostgreSQL) and three hubs (``dhome run``'s set-up, each a virtual home).

1. Enrolment by one-time code: one resident types the code into the hub's Sharing page (a real
   browser), the two others' hubs enrol through the same API route. Each consents to some kinds.
2. The hubs play smoke, fall and SOS scenarios (the SOS home also floods its bathroom, a kind it
   did not consent to share) while two staff members watch the console; the platform is
   restarted in the middle.
3. Every consented alert is in the console once, the other kinds never arrive; two staff taking
   the same alert: one wins, the other sees who; the acknowledgements reach the hubs (their
   web app shows who is coming) and the hubs confirm them back.
4. Every webhook the hubs sent is delivered twice more: nothing changes. The CAP feed is valid
   against the OASIS XSD; axe finds no WCAG 2.1 A/AA violation on the console.
"""

from __future__ import annotations

import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect
from standardwebhooks.webhooks import Webhook

from community.reports import ATOM_NS, CAP_NS
from tests.community.conftest import alert_event
from tests.e2e.procs import (
    HOME,
    REPORT_TOKEN,
    SECRET,
    STAFF_PASSWORD,
    HubProcess,
    Platform,
    free_port,
    http,
    wait_until,
)
from tests.webapp.browser import AXE, PHONE, WebHubProcess, chromium, sign_in

pytestmark = pytest.mark.slow

WHOLE_DAY = {"inactivity": {"windows": [{"start": "00:00", "end": "00:00", "max_quiet": "12h"}]}}
ALERTS = {"rules": WHOLE_DAY, "outbox": {"base_delay": 0.1, "max_delay": 0.5, "max_attempts": 1000}}
#: home id, scenario, kinds the resident consents to share, alerts the scenario raises
HOMES = [
    ("flat-a", "kitchen_fire", ["smoke"], {"smoke"}),
    ("flat-b", "elderly_fall", ["fall", "sos"], {"fall"}),
    ("flat-c", "sos_call", ["sos"], {"water_leak", "sos"}),
]
CONSENTED = {"smoke", "fall", "sos"}


class Stack:
    def __init__(self, tmp: Path, database: str | None) -> None:
        self.tmp = tmp
        self.platform = Platform(tmp, free_port(), database=database, escalate_minutes=0.05)
        self.hubs: dict[str, HubProcess] = {}
        self.admin: dict[str, str] = {}

    def hub(self, home: str, scenario: str | None) -> HubProcess:
        """The hub of ``home`` (its data dir kept across restarts), playing ``scenario``."""
        cls = WebHubProcess if home == "flat-a" else HubProcess
        speed = 600.0 if scenario else 1.0  # a fast clock before enrolment would date the consent ahead
        hub = cls(self.tmp, scenario=scenario, speed=speed, alerts=ALERTS, home=home, name=home)
        config = yaml.safe_load(hub.config.read_text(encoding="utf-8"))
        if scenario is None:  # only the demo home's devices, nothing happening
            config["adapters"] = [{"type": "virtual", "config": {}}]
        # the hub's clock runs from now, not from the scenario's (January) start: the consent was
        # granted at enrolment, today, and an alert dated before it would rightly not be shared
        config["clock"].pop("start", None)
        hub.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        old = self.hubs.get(home)
        if old is not None:
            old.stop()
        self.hubs[home] = hub
        if home not in self.admin:
            self.admin[home] = hub.token("admin", "e2e")
        return hub

    def close(self) -> None:
        for p in (*self.hubs.values(), self.platform):
            p.stop()

    def logs(self) -> str:
        parts = [f"--- {p.proc.name} {getattr(p, 'home', '')} ---\n{p.proc.tail()}"
                 for p in (*self.hubs.values(), self.platform) if p.proc is not None]  # fmt: skip
        for home, hub in self.hubs.items():
            parts.append(f"--- {home} audit: {hub.db('SELECT action, subscription, detail FROM audit')[-8:]}")
            parts.append(
                f"--- {home} outbox: {hub.db('SELECT message_id, state, last_error FROM outbox')[-5:]}"
            )
        return "\n".join(parts)


@pytest.fixture(params=["sqlite", pytest.param("postgresql")])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    database = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    s = Stack(tmp_path, database)
    try:
        yield s
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is None or failed.failed:
            print(s.logs())
        s.close()


def console(browser: Browser, base: str, user: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)  # axe is injected inline
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#username", user)
    page.fill("#password", STAFF_PASSWORD)
    page.click("form.signin button[type=submit]")
    expect(page.locator("#who")).to_contain_text({"wang": "王芳", "li": "李强", "boss": "张主管"}[user])
    return context, page


def card(page: Page, alert: dict[str, Any]) -> Any:
    return page.locator(f"article[data-home='{alert['home']}'][data-alert='{alert['id']}']")


def enrol_on_the_sharing_page(browser: Browser, hub: WebHubProcess, platform: Platform, code: str) -> Page:
    """The resident, signed in to the hub's web app, enrols with the code; the page stays open."""
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in(page, hub.base, hub.printed_code(), "/sharing")
    form = page.locator("#enrol")
    form.locator("#enrol-platform").fill(platform.url)
    form.locator("#enrol-code").fill(code.lower())  # as a resident may type it
    form.locator("#enrol-name").fill("陈阿姨")
    form.locator("#enrol-address").fill("阳光小区 3号楼 501")
    form.locator("#enrol-contact").fill("陈明 (儿子)")
    form.locator("#enrol-phone").fill("13800000000")
    for box in form.locator("input[name=enrol-kind]").all():
        box.set_checked(box.get_attribute("value") == "smoke")
    form.locator("button[type=submit]").click()
    expect(page.locator("section[data-subscription]")).to_have_count(1, timeout=20_000)
    expect(page.locator("section[data-subscription]")).to_contain_text("社区")
    return page


def redeliver_everything(hub: HubProcess) -> int:
    """Every message in the hub's outbox, signed again and posted to its endpoint, twice."""
    [(endpoint, secret)] = [(json.loads(body)["endpoint"], secret)
                            for body, secret in hub.db("SELECT body, secret FROM subscriptions WHERE deleted IS NULL")]  # fmt: skip
    sent = 0
    for message_id, payload in hub.db("SELECT message_id, payload FROM outbox"):
        body = json.dumps(json.loads(payload), ensure_ascii=False, separators=(",", ":"))
        for _ in range(2):
            now = datetime.now(UTC)
            req = urllib.request.Request(endpoint, data=body.encode(), method="POST", headers={
                "Content-Type": "application/cloudevents+json", "webhook-id": message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(secret).sign(message_id, now, body)})  # fmt: skip
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200 and json.loads(resp.read()) == {"duplicate": True}
            sent += 1
    return sent


def test_three_homes_enrolled_by_code_alerts_once_acks_back(stack: Stack, shared_fixtures: Path) -> None:
    platform = stack.platform
    platform.start()
    for home, _, _, _ in HOMES:  # (tokens are made outside the browser's event loop)
        stack.hub(home, None)
    with chromium() as browser:
        # 1. enrolment: hubs running their demo home, nothing happening yet
        for hub in stack.hubs.values():
            hub.start()
        a = stack.hubs["flat-a"]
        assert isinstance(a, WebHubProcess)
        resident = enrol_on_the_sharing_page(browser, a, platform, platform.code("阳光小区 3号楼 501"))
        for home, _, kinds, _ in HOMES[1:]:
            status, sub = http("POST", f"{stack.hubs[home].api}/enrolments", {
                "platform": platform.url, "code": platform.code(home),
                "household": {"name": f"{home} 住户", "contacts": [{"name": "社区网格员", "phone": "12345"}]},
                "alert_kinds": kinds}, token=stack.admin[home])  # fmt: skip
            assert status == 201, sub
            assert (
                sub["receiver"]["kind"] == "community" and sub["has_secret"] and sub["alert_kinds"] == kinds
            )
        status, problem = http("POST", f"{stack.hubs['flat-b'].api}/enrolments", {
            "platform": platform.url, "code": "AAAA-BBBB-CCCC", "household": {"name": "x"}}, token=stack.admin["flat-b"])  # fmt: skip
        assert (
            status == 422 and problem["errors"][0]["field"] == "code"
            if "errors" in problem
            else status == 422
        )
        households = {h["home"]: h for h in platform.households()}
        assert set(households) == {"flat-a", "flat-b", "flat-c"}
        assert households["flat-a"]["address"] == "阳光小区 3号楼 501"
        assert households["flat-a"]["consent"]["alert_kinds"] == ["smoke"]

        # 2. two staff on duty, then the scenarios; the platform restarts in the middle
        wang_ctx, wang = console(browser, platform.url, "wang")
        li_ctx, li = console(browser, platform.url, "li")
        for home, scenario, _, _ in HOMES:
            stack.hub(home, scenario).start()
        wait_until(lambda: platform.counts()["alerts"] >= 1, 120, "a first alert on the platform")
        assert platform.proc is not None
        platform.proc.stop()
        platform.start()
        for hub in stack.hubs.values():
            wait_until(hub.scenario_done, 180, f"the scenario of {hub.home}")
        for hub in stack.hubs.values():
            wait_until(lambda h=hub: not h.db("SELECT 1 FROM outbox WHERE state != 'delivered'"), 120,
                       f"the outbox of {hub.home} to drain")  # fmt: skip

        # 3. every consented alert once, nothing else
        alerts = platform.alerts()
        assert sorted((x["home"], x["kind"]) for x in alerts) == [
            ("flat-a", "smoke"),
            ("flat-b", "fall"),
            ("flat-c", "sos"),
        ]
        raised = {h: {r[0] for r in stack.hubs[h].db("SELECT kind FROM alerts")} for h, *_ in HOMES}
        assert raised["flat-c"] >= {"water_leak", "sos"}  # the leak happened, and stayed home
        by_kind = {x["kind"]: x for x in alerts}
        for page in (wang, li):
            expect(page.locator("article[data-alert]")).to_have_count(3, timeout=30_000)
            for x in alerts:
                expect(card(page, x)).to_have_count(1)
        # most severe first; a new critical alert chimed; nobody took them in time: escalated
        assert wang.locator("article[data-alert]").first.get_attribute("data-alert") == by_kind["smoke"]["id"]
        assert wang.evaluate("window.dhomeChimes || 0") >= 1
        expect(card(wang, by_kind["fall"]).locator(".badge.escalated")).to_be_visible(timeout=30_000)

        # two staff take the SOS: li's page has not heard of wang's click (its live stream is shut)
        li.evaluate("() => source.close()")
        card(wang, by_kind["sos"]).get_by_role("button", name="接单").click()
        expect(card(wang, by_kind["sos"])).to_contain_text("已由 王芳 接单")
        card(li, by_kind["sos"]).get_by_role("button", name="接单").click()
        expect(li.locator("#error")).to_contain_text("already acknowledged by 王芳")
        expect(card(li, by_kind["sos"])).to_contain_text("已由 王芳 接单")
        # a note half typed survives the queue's re-rendering (here: wang takes the smoke alert)
        card(wang, by_kind["fall"]).locator("textarea").fill("已电话联系儿子 正在上门")
        card(wang, by_kind["smoke"]).get_by_role("button", name="接单").click()
        expect(card(wang, by_kind["smoke"])).to_contain_text("已由 王芳 接单")
        expect(card(wang, by_kind["fall"]).locator("textarea")).to_have_value("已电话联系儿子 正在上门")
        card(wang, by_kind["fall"]).get_by_role("button", name="处理完毕").click()
        expect(card(wang, by_kind["fall"])).to_have_count(0)
        assert any(
            a["alert_id"] == by_kind["fall"]["id"] and a["action"] == "resolve" and "正在上门" in a["note"]
            for a in platform.history(by_kind["fall"]["home"])
        ), "the note typed before the re-rendering is the one sent"

        # the acknowledgements reach the homes, and the homes confirm them back
        for x in alerts:
            hub = stack.hubs[x["home"]]
            in_hub = wait_until(
                lambda h=hub, i=x["id"]: (r := http("GET", f"{h.api}/alerts/{i}", token=stack.admin[h.home])[1])
                and r.get("acknowledged_by") and r, 60, f"the acknowledgement in {x['home']}")  # fmt: skip
            assert "王芳" in in_hub["acknowledged_by"] and in_hub["state"] in ("acknowledged", "cleared")
        wait_until(
            lambda: all(x["hub_state"] != "active" for x in platform.alerts()), 60, "the homes' confirmations"
        )
        expect(card(wang, by_kind["smoke"]).locator(".badge.home-ok")).to_be_visible(timeout=30_000)
        # the resident's session outlived the hub's restart (same data dir, new port)
        a = stack.hubs["flat-a"]
        assert isinstance(a, WebHubProcess)
        resident.goto(a.base + "/alerts")
        expect(resident.locator("main")).to_contain_text("王芳", timeout=20_000)

        # 4. redelivering every webhook twice changes nothing
        before = platform.counts()
        assert sum(redeliver_everything(h) for h in stack.hubs.values()) >= 6
        assert platform.counts() == before
        assert len(platform.message_ids()) == len(set(platform.message_ids()))

        # the upward CAP feed is valid CAP 1.2 and carries no household details
        req = urllib.request.Request(
            platform.url + "/feeds/cap.atom", headers={"Authorization": f"Bearer {REPORT_TOKEN}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            feed = ET.fromstring(resp.read())
        schema = xmlschema.XMLSchema(shared_fixtures / "cap" / "CAP-v1.2.xsd")
        caps = feed.findall(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}content/{{{CAP_NS}}}alert")
        assert {c.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}category") for c in caps} <= {
            "Fire",
            "Rescue",
            "Health",
        }
        for c in caps:
            schema.validate(ET.tostring(c, encoding="unicode"))
        assert "陈阿姨" not in ET.tostring(feed, encoding="unicode")

        # axe: no WCAG 2.1 A / AA violation on the console (phone width), queue and households
        for view in ("queue", "households"):
            wang.locator(f"nav button[data-view='{view}']").click()
            wang.wait_for_load_state("networkidle")
            wang.add_script_tag(path=str(AXE))
            violations = wang.evaluate(
                "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))"
                ".violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
            )
            assert violations == [], f"{view}: {violations}"
        wang_ctx.close()
        li_ctx.close()
    assert re.search(r"escalated", platform.proc.tail() if platform.proc else "")


def deliver(platform: Platform, event: dict[str, Any]) -> None:
    """A signed webhook of the hand-configured home ``HOME``."""
    body, now = json.dumps(event), datetime.now(UTC)
    req = urllib.request.Request(platform.url + "/webhook", data=body.encode(), method="POST", headers={
        "Content-Type": "application/cloudevents+json", "webhook-id": event["id"],
        "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": Webhook(SECRET).sign(event["id"], now, body)})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_a_change_pushed_while_the_console_reloads_or_acts_is_not_undone(tmp_path: Path) -> None:
    """The console reloads its queue when its live stream (re)connects, e.g. after a platform
    restart. The home's confirmation pushed while that snapshot travelled is newer than the
    snapshot: it must stay (it was overwritten, and the card said 等待家中确认 for good). The
    same for an action's own answer that arrives after the confirmation: the alert's version
    says it is older, so it is not shown."""
    platform = Platform(tmp_path, free_port(), hub_port=0)
    platform.start()
    alert = {"home": HOME, "id": "smoke-1"}
    now = datetime.now(UTC)
    deliver(platform, alert_event(HOME, "smoke-1", time=now.isoformat()))
    try:
        with chromium() as browser:
            _, wang = console(browser, platform.url, "wang")
            card(wang, alert).get_by_role("button", name="接单").click()
            expect(card(wang, alert)).to_contain_text("等待家中确认")
            held: list[Any] = []
            wang.route("**/console/api/queue", lambda route: held.append((route, route.fetch())))
            wang.evaluate("() => { window.reloaded = loadQueue(); }")
            while not held:  # the snapshot is read: the home confirms only now
                wang.wait_for_timeout(20)
            wang.evaluate(
                "() => { window.pushed = new Promise((r) => source.addEventListener('alert', r)); }"
            )
            confirmed = (now + timedelta(seconds=5)).isoformat()
            deliver(platform, alert_event(HOME, "smoke-1", state="acknowledged", time=confirmed))
            wang.evaluate("() => window.pushed")
            expect(card(wang, alert).locator(".badge.home-ok")).to_have_count(1)
            route, snapshot = held[0]
            route.fulfill(response=snapshot)
            wang.evaluate("() => window.reloaded")
            assert card(wang, alert).locator(".badge.home-ok").count() == 1, card(wang, alert).inner_text()

            second = {"home": HOME, "id": "smoke-2"}
            deliver(platform, alert_event(HOME, "smoke-2", time=now.isoformat()))
            card(wang, second).locator("textarea").fill("已电话联系")  # a draft, dropped once answered
            answers: list[Any] = []
            wang.route("**/smoke-2/acknowledge", lambda route: answers.append((route, route.fetch())))
            card(wang, second).get_by_role("button", name="接单").click()
            while not answers:  # acknowledged and answered; the answer is held on its way
                wang.wait_for_timeout(20)
            deliver(platform, alert_event(HOME, "smoke-2", state="acknowledged", time=confirmed))
            expect(card(wang, second).locator(".badge.home-ok")).to_have_count(1)
            route, answer = answers[0]
            route.fulfill(response=answer)
            wang.wait_for_function(f"() => !drafts.has('{HOME}/smoke-2')")  # the answer was handled
            assert card(wang, second).locator(".badge.home-ok").count() == 1, card(wang, second).inner_text()
    finally:
        platform.stop()
