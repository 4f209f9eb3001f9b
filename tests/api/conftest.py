"""Fixtures of the API tests: a real hub with the API on a free loopback port, temp SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.api.support import Harness, running_hub


@pytest.fixture
async def api_hub(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_hub(tmp_path) as harness:
        yield harness


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
