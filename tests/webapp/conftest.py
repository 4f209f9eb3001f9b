"""Fixtures of the web-app tests: a real hub (virtual demo home) with the web app on its API,
on a free loopback port with a temp SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from hub.api.models import Scope
from hub.api.server import ApiService
from hub.config import AdapterEntry, HubConfig
from hub.core import Hub
from hub.webapp import install
from hub.webapp.pairing import PairingCodes
from hub.webapp.routes import wall_clock
from tests.api.support import TEST_SETTINGS


@dataclass
class WebHub:
    hub: Hub
    api: ApiService

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    async def code(self, *scopes: Scope) -> str:
        code, _ = await PairingCodes(self.hub.storage, wall_clock).issue(scopes or (Scope.ADMIN,))
        return code


@pytest.fixture
async def web_hub(tmp_path: Path) -> AsyncIterator[WebHub]:
    cfg = HubConfig(adapters=[AdapterEntry(type="virtual", config={})])
    cfg.api.host = "127.0.0.1"
    cfg.api.port = 0
    hub = Hub(cfg, data_dir=tmp_path)
    api = ApiService(TEST_SETTINGS, extensions=[install])
    hub.add_service(api)
    async with hub:
        for name in hub.supervisor.slots:
            await hub.supervisor.wait_running(name)
        yield WebHub(hub, api)


@pytest.fixture
async def browser_like() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies like a browser (also for 127.0.0.1) and does not follow redirects."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session
