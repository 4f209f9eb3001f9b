"""Real processes and a real browser for the web-app tests: the hub (``tests.webapp.hub_main``),
the example community platform, and Debian's chromium driven by Playwright; axe-core from the
npm registry (pinned in ``tests/webapp/package.json``, installed by ``make install``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.e2e.procs import PYTHON, HubProcess, Proc, reachable, wait_until

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "_artifacts" / "webapp"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
CODE_IN_LOG = re.compile(r"code\s+(\d{4}-\d{4})")


class WebHubProcess(HubProcess):
    """``HubProcess`` running the hub with the web app installed (and a pairing code printed)."""

    def start(self) -> None:
        argv = [
            PYTHON,
            "-m",
            "tests.webapp.hub_main",
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data),
        ]
        self.proc = Proc("hub", argv, self.dir / "hub.log", env={"DHOME_LOG_LEVEL": "info", "COLUMNS": "200"})
        wait_until(lambda: reachable(self.api + "/health") or not self.proc or not self.proc.alive(), 60,
                   "the hub API to listen")  # fmt: skip
        assert self.proc.alive(), f"hub exited at start:\n{self.proc.tail()}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def printed_code(self) -> str:
        """The pairing code ``dhome run`` printed at start-up."""
        proc = self.proc
        assert proc is not None
        found = wait_until(lambda: CODE_IN_LOG.search(proc.log.read_text(errors="replace")), 30, "the code")
        return str(found.group(1))


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, code: str, path: str = "/") -> None:
    page.goto(base + path)
    page.wait_for_url(re.compile(r"/signin"))
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + path) + "$"))
    page.wait_for_selector("body[data-page]")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core on the page as it is: the violations of impact serious or critical."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
