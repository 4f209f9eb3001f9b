"""The console's staff accounts in a real browser, on ``dhome-community serve``: an admin adds a
duty officer and hands over the initial password shown once; the officer's first sign-in asks
for their own password before anything else; afterwards only the new one works, the admin sees
the change in the account log, and axe finds no WCAG 2.1 A/AA violation on either page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.procs import STAFF_PASSWORD, Platform
from tests.support.net import free_port
from tests.webapp.browser import AXE, PHONE, chromium

pytestmark = pytest.mark.slow


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(tmp_path, free_port())
    p.cli(
        "staff",
        "add",
        "root",
        "--name",
        "刘管理",
        "--role",
        "admin",
        "--password-stdin",
        stdin=STAFF_PASSWORD,
    )
    p.start()
    try:
        yield p
    finally:
        p.stop()


def wcag_violations(page: Page) -> list[object]:
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))"
        ".violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
    ))  # fmt: skip


def sign_in(page: Page, user: str, password: str) -> None:
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("form.signin button[type=submit]")


def test_an_admin_adds_an_officer_who_must_choose_a_password(platform: Platform) -> None:
    with chromium() as browser:
        run(browser, platform.url)


def run(browser: Browser, base: str) -> None:
    admin_ctx = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)  # axe is injected inline
    admin = admin_ctx.new_page()
    admin.goto(base + "/")
    sign_in(admin, "root", STAFF_PASSWORD)
    expect(admin.locator("#who")).to_contain_text("刘管理 · 管理员")
    expect(admin.locator("nav button[data-view='codes']")).to_be_hidden()  # an admin is not a supervisor
    admin.click("nav button[data-view='staff']")
    admin.fill("#staff-user", "zhao")
    admin.fill("#staff-name", "赵敏")
    admin.select_option("#staff-role", "duty")
    admin.click("#staff-new >> xpath=.. >> button[type=submit]")
    expect(admin.locator("#staff-new")).to_contain_text("zhao 的初始密码")
    initial = admin.locator("#staff-new .code").inner_text().strip()
    assert len(initial) >= 16
    expect(admin.locator("table")).to_contain_text("赵敏")
    assert wcag_violations(admin) == []

    officer_ctx = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)
    officer = officer_ctx.new_page()
    officer.goto(base + "/")
    sign_in(officer, "zhao", initial)
    # nothing but the password form until the initial password is replaced
    expect(officer.locator("#password-form")).to_contain_text("请先换成只有您自己知道的密码")
    expect(officer.locator("#tabs")).to_be_hidden()
    expect(officer.locator("#changepw")).to_be_hidden()
    assert wcag_violations(officer) == []
    officer.fill("#pw-current", initial)
    officer.fill("#pw-new", "zhao-own-secret")
    officer.fill("#pw-repeat", "zhao-own-secreT")
    officer.click("#password-form button[type=submit]")
    expect(officer.locator("#error")).to_have_text("两次输入的新密码不一致")
    officer.fill("#pw-current", "a-wrong-guess")
    officer.fill("#pw-repeat", "zhao-own-secret")
    officer.click("#password-form button[type=submit]")
    expect(officer.locator("#error")).to_have_text("当前密码不正确")
    officer.fill("#pw-current", initial)
    officer.click("#password-form button[type=submit]")
    expect(officer.locator("#main")).to_contain_text("没有待处理的警报")
    expect(officer.locator("#tabs")).to_be_visible()
    expect(officer.locator("#status")).to_have_text("密码已修改。其他设备上的登录已退出。")

    # English too, and only the new password signs in
    officer.click("#lang")
    officer.click("#signout")
    sign_in(officer, "zhao", initial)
    expect(officer.locator("#error")).to_have_text("Wrong user name or password")
    sign_in(officer, "zhao", "zhao-own-secret")
    expect(officer.locator("#main")).to_contain_text("No open alerts")

    admin.click("nav button[data-view='queue']")
    admin.click("nav button[data-view='staff']")
    expect(admin.locator("main ul").last).to_contain_text("zhao 修改了密码 zhao")
    admin_ctx.close()
    officer_ctx.close()
