"""Bridges are plugins: a package with one module and one ``dhome.bridges`` entry point adds a
transport (tests/bridges/plugin: ``log``). The consent service asks that bridge whether it can
carry a subscription, and the outbox delivers through it — no file of the hub changes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dhi.errors import InvalidParams
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest
from hub.delivery import bridge_types
from tests.alerts.support import SMOKE, TestHome, running_home

PLUGIN = Path(__file__).parent / "plugin"


@pytest.fixture
def log_bridge_installed() -> Iterator[None]:
    sys.path.insert(0, str(PLUGIN))
    bridge_types.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(PLUGIN))
        sys.modules.pop("dhome_log_bridge", None)
        bridge_types.cache_clear()


def log_subscription(home: TestHome, endpoint: str, transport: str = "log") -> SubscriptionRequest:
    return SubscriptionRequest(
        receiver=Receiver(name="物业值班日志", kind="property"),
        transport=transport,
        endpoint=endpoint,
        alert_kinds=["smoke"],
        consent=Consent(granted_by="resident:chen", granted_at=home.clock.now()),
    )


@pytest.mark.usefixtures("log_bridge_installed")
async def test_a_plugin_bridge_checks_its_endpoint_and_delivers(tmp_path: Path) -> None:
    assert {"webhook", "mqtt", "cap_http", "cap_mqtt", "log"} <= set(bridge_types())
    log_file = tmp_path / "alerts.jsonl"
    async with running_home(tmp_path / "hub") as home:
        with pytest.raises(InvalidParams, match="not a file in an existing directory") as refused:
            await home.consent.create(log_subscription(home, "alerts.jsonl"), actor="admin")
        assert refused.value.field == "endpoint"
        await home.consent.create(log_subscription(home, str(log_file)), actor="admin")
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        async with asyncio.timeout(20):
            while not log_file.exists() or not log_file.read_text(encoding="utf-8"):
                await asyncio.sleep(0.02)
        [line] = log_file.read_text(encoding="utf-8").splitlines()
        event = json.loads(line)
        assert event["type"] == "org.dhi.v1.alert.raised" and event["data"]["alert"]["kind"] == "smoke"


async def test_a_transport_without_a_bridge_is_refused(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        with pytest.raises(InvalidParams, match="no bridge for transport 'log'") as refused:
            await home.consent.create(log_subscription(home, str(tmp_path / "a.jsonl")), actor="admin")
        assert refused.value.field == "transport" and "webhook" in (refused.value.expected or "")
