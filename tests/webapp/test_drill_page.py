"""A hub running a drill (``drill: true``) in a real browser: every page says so, and its alerts
and the audit rows of its shares carry a 演练 / Drill badge; the notice passes axe-core like the
rest of the page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from tests.webapp.browser import DESKTOP, WebHubProcess, chromium, serious_violations, sign_in

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parent / "fall_then_sos.yaml"


def test_a_drill_hub_shows_itself_and_its_alerts_as_a_drill(tmp_path: Path) -> None:
    hub = WebHubProcess(tmp_path, scenario=str(SCENARIO), speed=20.0, alerts={})
    config = yaml.safe_load(hub.config.read_text(encoding="utf-8"))
    hub.config.write_text(yaml.safe_dump({**config, "drill": True}, allow_unicode=True), encoding="utf-8")
    hub.start()
    try:
        with chromium() as browser:
            page = browser.new_page(viewport=DESKTOP, bypass_csp=True)  # for axe-core
            sign_in(page, hub.base, hub.printed_code(), "/alerts")
            expect(page.locator("#drill-notice")).to_be_visible()
            expect(page.locator("#drill-notice")).to_contain_text("演练")
            card = page.locator("#active-alerts section[data-alert]")
            expect(card.first).to_be_visible(timeout=60_000)
            expect(card.first.locator("[data-drill]")).to_have_text("演练")
            assert serious_violations(page) == []
            page.click("nav a[href='/sharing']")  # the audit: the withheld fall is a drill's
            expect(page.locator("#audit li[data-action='share.withheld'] [data-drill]").first).to_be_visible()
            page.click("#lang")  # English: the same, translated
            expect(page.locator("#drill-notice")).to_contain_text("Drill")
    finally:
        hub.stop()
