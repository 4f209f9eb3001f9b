"""The web app in a real browser against a real hub process with the virtual demo home, and the
example community platform: sign in with the printed code, a fall appears live and is
acknowledged (the platform hears of it), consent withdrawn on the Sharing page stops delivery,
a light is switched, every page passes axe-core and is photographed at phone and desktop width."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hub.webapp.pairing import display
from tests.e2e.procs import PYTHON, REPO, SECRET, Platform, free_port, http, wait_until, webhook_subscription
from tests.webapp.browser import (
    DESKTOP,
    PHONE,
    WebHubProcess,
    chromium,
    screenshot,
    serious_violations,
    sign_in,
)

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parent / "fall_then_sos.yaml"
KINDS = ["fall", "sos", "smoke"]
#: ``dhome pair`` until it is registered in the CLI (hub/cli/__init__.py)
PAIR_CLI = "import typer; from hub.cli.pair import pair; typer.run(pair)"


class Stack:
    def __init__(self, tmp: Path, scenario: Path | None) -> None:
        port = free_port()
        alerts = {
            "outbox": {"base_delay": 0.1, "max_delay": 0.5, "give_up_after": 3600},
            "subscriptions": [webhook_subscription(f"http://127.0.0.1:{port}/webhook", KINDS)],
        }
        self.hub = WebHubProcess(tmp, scenario=str(scenario) if scenario else None, speed=1.0, alerts=alerts)
        if scenario is None:  # just the demo home, nothing happening
            self._plain_demo()
        self.platform = Platform(tmp, port, self.hub.api_port, self.hub.token("alerts", "community"))
        self.admin = self.hub.token("admin", "test")

    def _plain_demo(self) -> None:
        import yaml

        config = yaml.safe_load(self.hub.config.read_text(encoding="utf-8"))
        config["adapters"] = [{"type": "virtual", "config": {}}]
        self.hub.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    def start(self) -> None:
        self.platform.start()
        self.hub.start()

    def stop(self) -> None:
        self.hub.stop()
        self.platform.stop()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        status, data = http(method, self.hub.api + path, body, token=self.admin)
        assert status < 300, (status, data)
        return data

    def new_code(self) -> str:
        """``dhome pair --data-dir D --json`` (its own process), against the running hub's database."""
        out = subprocess.run(
            [PYTHON, "-c", PAIR_CLI, "--data-dir", str(self.hub.data), "--json"],
            check=True, capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
        return display(json.loads(out.stdout)["code"])


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    scenario = getattr(request, "param", None)
    s = Stack(tmp_path, scenario)
    s.start()
    try:
        yield s
    except BaseException:
        raise
    finally:
        s.stop()


def alert_of(stack: Stack, kind: str) -> list[dict[str, Any]]:
    return [a for a in stack.api("GET", "/alerts")["items"] if a["kind"] == kind]


@pytest.mark.parametrize("stack", [SCENARIO], indirect=True)
def test_fall_live_ack_reaches_platform_and_withdrawn_consent_stops_delivery(stack: Stack) -> None:
    code = stack.hub.printed_code()
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP, bypass_csp=True)  # for axe-core, see below
        sign_in(page, stack.hub.base, code, "/alerts")
        # the page is open before the fall happens: it must appear without a reload
        assert not alert_of(stack, "fall"), "the fall came before the page was open: the test is too slow"
        page.evaluate("window.__same_document = true")
        card = page.locator("#active-alerts section[data-alert]")
        expect(card).to_have_count(1, timeout=60_000)
        assert page.evaluate("window.__same_document") is True  # no reload happened
        [fall] = alert_of(stack, "fall")
        expect(card).to_have_attribute("data-alert", fall["id"])
        card.get_by_role("button").click()
        expect(page.locator(f"section[data-alert='{fall['id']}'] .badge")).to_have_text(
            re.compile("有人在处理|已结束")
        )
        assert stack.api("GET", f"/alerts/{fall['id']}")["acknowledged_by"].startswith("token:")
        # the acknowledgement reaches the community platform
        wait_until(
            lambda: [a["state"] for a in stack.platform.alerts() if a["id"] == fall["id"]] == ["acknowledged"],
            30, "the acknowledgement on the platform",
        )  # fmt: skip
        # who was told, and whether it arrived, per platform
        told = page.locator(f"[data-deliveries='{fall['id']}'] li[data-platform='阳光社区服务中心']")
        expect(told).to_have_attribute("data-state", "delivered", timeout=20_000)
        expect(told).to_contain_text("已送达")
        for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            screenshot(page, f"alerts-with-fall-{width_name}")
        assert serious_violations(page) == []
        page.set_viewport_size(DESKTOP)

        # withdraw consent on the Sharing page
        page.on("dialog", lambda d: d.accept())
        page.get_by_role("link", name="共享与授权").click()
        share = page.locator("section[data-subscription='community']")
        expect(share).to_contain_text("阳光社区服务中心 会收到")
        expect(share).to_contain_text("跌倒")
        share.get_by_role("button", name="撤回授权").click()
        expect(share).to_have_count(0)
        expect(page.locator("#audit li[data-action$='withdrawn']").first).to_be_visible()
        assert not stack.api("GET", "/subscriptions")["items"]
        # the SOS press after the withdrawal stays in the home
        [sos] = wait_until(lambda: alert_of(stack, "sos"), 90, "the SOS alert in the hub")
        wait_until(
            lambda: stack.hub.db(
                "SELECT 1 FROM audit WHERE action = 'share.withheld' AND json_extract(detail, '$.alert') = ?",
                (sos["id"],),
            ),
            30, "the SOS withheld in the audit log",
        )  # fmt: skip
        assert [a["kind"] for a in stack.platform.alerts()] == ["fall"]
        page.reload()
        expect(page.locator("#audit li[data-action='share.withheld']").first).to_be_visible()


def test_switching_a_light_changes_the_virtual_device(stack: Stack) -> None:
    device = "virtual:kitchen-light"
    path = f"/devices/{device}/state"
    # the API answers before the virtual adapter has published its devices (slow on a busy machine)
    wait_until(lambda: http("GET", stack.hub.api + path, None, token=stack.admin)[0] == 200, 30, "the light")
    before = stack.api("GET", path)["components"]["main"]["dhi.on_off"]["on"]["value"]
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        sign_in(page, stack.hub.base, stack.new_code(), f"/devices/{device}")
        button = page.locator(f"button[data-control='{device}|main|dhi.on_off|on']")
        button.click()
        expect(page.get_by_role("status").first).to_have_text(re.compile("已完成"))
        after = stack.api("GET", path)["components"]["main"]["dhi.on_off"]["on"]["value"]
        assert after is (not before)
        # the page follows the device's state (pushed over the WebSocket)
        expect(page.locator(f"[data-prop='{device}|main|dhi.on_off|on']")).to_have_text(
            "开" if after else "关"
        )
        expect(button).to_have_attribute(
            "aria-pressed", "true" if after else "false"
        )  # the toggle tells the truth
        button.click()
        wait_until(
            lambda: stack.api("GET", path)["components"]["main"]["dhi.on_off"]["on"]["value"] is before,
            10, "the light back",
        )  # fmt: skip


PAGES = {
    "home": "/",
    "device": "/devices/virtual:living-climate",
    "alerts": "/alerts",
    "sharing": "/sharing",
    "settings": "/settings",
}


def test_every_page_is_accessible_and_photographed(stack: Stack) -> None:
    with chromium() as browser:
        for width_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            # axe is injected as a script: the page's CSP would (rightly) refuse it
            context = browser.new_context(viewport=viewport, bypass_csp=True)
            page = context.new_page()
            sign_in(page, stack.hub.base, stack.new_code())
            for name, path in PAGES.items():
                page.goto(stack.hub.base + path)
                page.wait_for_selector(f"body[data-page='{path}']")
                assert page.locator("#problem").is_hidden(), page.locator("#problem").text_content()
                screenshot(page, f"{name}-{width_name}")
                assert serious_violations(page) == [], name
            page.click("#lang")
            page.wait_for_selector("html[lang='en']")
            page.goto(stack.hub.base + "/")
            page.wait_for_selector("body[data-page='/']")
            expect(page.get_by_role("link", name="Alerts")).to_be_visible()
            screenshot(page, f"home-en-{width_name}")
            assert serious_violations(page) == []
            page.evaluate("localStorage.clear()")
            context.close()
        # signing in: the page without a session
        page = browser.new_page(viewport=PHONE, bypass_csp=True)
        page.goto(stack.hub.base + "/sharing")
        page.wait_for_url(re.compile(r"/signin\?next="))
        screenshot(page, "signin-phone")
        assert serious_violations(page) == []


def test_without_a_session_the_browser_gets_nothing(stack: Stack) -> None:
    with chromium() as browser:
        page = browser.new_page()
        for path in PAGES.values():
            page.goto(stack.hub.base + path)
            assert re.search(r"/signin", page.url), path
        status = page.evaluate("async () => (await fetch('/api/v1/devices')).status")
        assert status == 401
        page.fill("#code", "0000-0000")
        page.click("button[type=submit]")
        expect(page.locator("#error")).not_to_be_empty()
        # signed in, then out: the same browser is refused again
        sign_in(page, stack.hub.base, stack.new_code(), "/settings")
        page.click("#signout")
        page.wait_for_url(re.compile(r"/signin"))
        assert page.evaluate("async () => (await fetch('/api/v1/devices')).status") == 401


def test_sharing_is_changed_and_granted_in_plain_words(stack: Stack) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        sign_in(page, stack.hub.base, stack.new_code(), "/sharing")
        share = page.locator("section[data-subscription='community']")
        share.get_by_role("button", name="更改").click()
        share.get_by_label("烟雾").uncheck()
        share.locator("#s-community-until").fill("2027-06-30")
        share.get_by_role("button", name="保存").click()
        expect(share).to_contain_text("有效期到 2027年6月30日")
        expect(share.locator("p.plain")).to_contain_text(re.compile("不会收到.*烟雾"))
        [sub] = stack.api("GET", "/subscriptions")["items"]
        assert sorted(sub["alert_kinds"]) == ["fall", "sos"]
        assert sub["consent"]["expires"].startswith("2027-06-30") and sub["has_secret"] is True
        assert sub["consent"]["granted_by"] == "resident:browser"

        page.locator("#grant-box summary").click()  # the new-grant form is closed until asked for
        grant = page.locator("#grant")
        grant.get_by_label("平台名称").fill("街道民政科")
        grant.get_by_label("平台类型").select_option("government")
        grant.locator("#new-endpoint").fill(f"{stack.platform.url}/webhook")
        grant.locator("#new-secret").fill(SECRET)
        grant.get_by_role("button", name="同意共享").click()
        expect(page.locator("p.plain", has_text="街道民政科 会收到")).to_contain_text("跌倒")
        names = {s["receiver"]["name"]: s for s in stack.api("GET", "/subscriptions")["items"]}
        assert names["街道民政科"]["receiver"]["kind"] == "government"
        # only the details ticked by default go along: the room and the description, not the address
        assert names["街道民政科"]["fields"] == ["room", "summary", "summary_zh"]
        expect(page.locator("p.plain", has_text="街道民政科 会收到")).to_contain_text(
            re.compile("不会收到.*住址和位置")
        )
        assert sorted(names["街道民政科"]["alert_kinds"]) == ["fall", "smoke", "sos"]
        expect(page.locator("#audit li[data-action='subscription.created']").first).to_be_visible()


def test_home_name_and_division_code_are_changed_on_the_settings_page(stack: Stack) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, bypass_csp=True)  # for axe-core
        sign_in(page, stack.hub.base, stack.new_code(), "/settings")
        form = page.locator("form#settings")
        name = form.get_by_label("家庭名称", exact=True)
        code = form.get_by_label("行政区划代码", exact=True)
        before = stack.api("GET", "/settings")
        expect(name).to_have_value(before["name"])
        # a code of the wrong length is explained next to the field, in words, and nothing is saved
        code.fill("11010")
        form.get_by_role("button", name="保存设置").click()
        expect(form.locator("#set-division_code-error")).to_have_text(re.compile("6 位、9 位或 12 位数字"))
        expect(code).to_have_attribute("aria-invalid", "true")
        assert stack.api("GET", "/settings") == before
        assert serious_violations(page) == []

        name.fill("陈奶奶的家")
        code.fill("110108001")
        form.get_by_role("button", name="保存设置").click()
        expect(form.locator("#settings-status")).to_have_text(re.compile("已保存"))
        expect(form.locator("#set-division_code-error")).to_be_hidden()
        saved = stack.api("GET", "/settings")
        assert (saved["name"], saved["division_code"]) == ("陈奶奶的家", "110108001")
        [(actor,)] = stack.hub.db("SELECT actor FROM audit WHERE action = 'settings.updated'")
        assert actor.startswith("token:") and "session" in actor

        page.reload()
        page.wait_for_selector("body[data-page='/settings']")
        reloaded = page.locator("form#settings")
        expect(reloaded.get_by_label("家庭名称", exact=True)).to_have_value("陈奶奶的家")
        expect(reloaded.get_by_label("行政区划代码", exact=True)).to_have_value("110108001")
        screenshot(page, "settings-saved-phone")
        assert serious_violations(page) == []
