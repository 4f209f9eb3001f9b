"""The platform's page in a real headless browser (Playwright driving Debian's chromium): an
alert raised in the hub appears without a reload, and staff can acknowledge it — which
acknowledges it in the hub through the hub's API."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from dhi.models.alert import AlertState
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from hub.api.auth import TokenStore
from hub.api.models import Scope
from hub.api.server import ApiService
from hub.core import Hub
from tests.alerts.support import SMOKE, running_home
from tests.e2e.procs import SECRET, Platform, free_port

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: `make install` installs Debian's chromium package", pytrace=False)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def test_alert_appears_live_and_is_acknowledged_from_the_page(tmp_path: Path, browser: Browser) -> None:
    api = ApiService(host="127.0.0.1", port=0)

    def with_api(hub: Hub) -> None:
        hub.add_service(api)

    async with running_home(tmp_path / "hub", extra=with_api) as home:
        _, token = await TokenStore(home.hub.storage, home.hub.clock.now).create("community", [Scope.ALERTS])
        platform = Platform(tmp_path, free_port(), api.port, token)
        await home.consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="阳光社区", kind="community"),
                transport=Transport.WEBHOOK,
                endpoint=platform.url + "/webhook",
                secret=SECRET,
                alert_kinds=["smoke"],
                consent=Consent(granted_by="resident", granted_at=home.clock.now()),
            ),
            actor="admin",
        )
        await asyncio.to_thread(platform.start)
        try:
            page = await browser.new_page()
            await page.goto(platform.url + "/")
            await expect(page.locator("#live")).to_have_class("live on")
            await expect(page.locator("#empty")).to_have_text("暂无待处理告警")

            home.add(SMOKE)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
            await home.settle()
            [alert] = home.open_alerts()

            row = page.locator(f'tr[data-alert-id="{alert.id}"]')
            await expect(row).to_be_visible(timeout=20_000)  # pushed to the open page, no reload
            await expect(row.locator('[data-field="kind"]')).to_have_text("烟雾报警")
            await page.locator("#lang").click()
            await expect(row.locator('[data-field="kind"]')).to_have_text("Smoke alarm")

            await page.fill("#staff", "Wang")
            await row.locator('button[data-action="ack"]').click()
            await expect(row.locator('[data-field="state"]')).to_have_text(
                "Acknowledged · Wang", timeout=20_000
            )
            await expect(row.locator('button[data-action="ack"]')).to_have_count(0)

            acked = home.engine.get_alert(alert.id)
            assert acked is not None and acked.state is AlertState.ACKNOWLEDGED
            assert acked.acknowledged_by is not None and "community" in acked.acknowledged_by
            await page.screenshot(path=str(tmp_path / "platform.png"))
        finally:
            await asyncio.to_thread(platform.stop)
