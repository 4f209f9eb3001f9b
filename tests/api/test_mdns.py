"""mDNS on loopback: the hub advertises _dhome._tcp with its TXT records and withdraws it on stop.

Everything here is bound to 127.0.0.1: the multicast never leaves this machine.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

from hub.api.server import ApiService
from hub.cli.discover import discover
from hub.config import HubConfig
from hub.core import Hub
from hub.discovery import SERVICE_TYPE, Found, KnownType, MdnsService, browse, instance_name, interfaces_for
from tests.api.support import TEST_SETTINGS, ProbeAdapter, hub_config

LOOPBACK = ["127.0.0.1"]
DHOME_ONLY = [KnownType(SERVICE_TYPE, "dhome hub")]


def _config(home_id: str) -> HubConfig:
    cfg = hub_config()
    cfg.home.id = home_id
    cfg.home.name = f"Flat {home_id}"
    return cfg


def _hub(tmp_path: Path, home: str) -> tuple[Hub, ApiService]:
    hub = Hub(_config(home), data_dir=tmp_path, adapter_classes={"probe": ProbeAdapter})
    api = ApiService(TEST_SETTINGS)
    hub.add_service(api)
    hub.add_service(MdnsService(api, interfaces=LOOPBACK))
    return hub, api


@pytest.mark.slow
async def test_hub_is_found_on_loopback_with_its_txt_records_and_unregisters_on_stop(tmp_path: Path) -> None:
    home = "mdns-test-home"
    full_name = f"Flat {home}.{SERVICE_TYPE}"
    seen: dict[ServiceStateChange, asyncio.Event] = {s: asyncio.Event() for s in ServiceStateChange}

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if name == full_name:
            seen[state_change].set()

    watcher = AsyncZeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    browser = AsyncServiceBrowser(watcher.zeroconf, [SERVICE_TYPE], handlers=[on_change])
    try:
        hub, api = _hub(tmp_path, home)
        async with hub:
            found = await browse(
                30,
                types=DHOME_ONLY,
                interfaces=LOOPBACK,
                done=lambda fs: any(f.txt.get("home") == home for f in fs),
            )
            mine = [f for f in found if f.txt.get("home") == home]
            assert len(mine) == 1, found
            assert mine[0].txt == {"api": "/api/v1", "ver": "1", "home": home}
            assert mine[0].name == f"Flat {home}" and mine[0].kind == "dhome hub"
            assert mine[0].port == api.port and "127.0.0.1" in mine[0].addresses
            assert mine[0].api_url == f"http://127.0.0.1:{api.port}/api/v1"
            async with asyncio.timeout(30):
                await seen[ServiceStateChange.Added].wait()
        # stopping the hub sends the goodbye: the service disappears at once, not when its TTL ends
        async with asyncio.timeout(30):
            await seen[ServiceStateChange.Removed].wait()
    finally:
        await browser.async_cancel()
        await watcher.async_close()


@pytest.mark.slow
async def test_dhome_discover_lists_the_hub(tmp_path: Path) -> None:
    home = "discover-cli-home"
    hub, api = _hub(tmp_path, home)
    app = typer.Typer()
    app.command()(discover)
    async with hub:
        hubs: list[dict[str, object]] = []
        for _ in range(5):  # mDNS on a busy machine may need a second look; each try is bounded
            result = await asyncio.to_thread(
                CliRunner().invoke, app, ["--timeout", "3", "--json", "--interface", "127.0.0.1"]
            )
            assert result.exit_code == 0, result.output
            hubs = [f for f in json.loads(result.stdout) if f["txt"].get("home") == home]
            if hubs:
                break
        assert len(hubs) == 1
        assert hubs[0]["kind"] == "dhome hub" and hubs[0]["port"] == api.port
        assert hubs[0]["type"] == SERVICE_TYPE


def test_advertised_interfaces_follow_the_api_binding() -> None:
    assert interfaces_for("127.0.0.1") == ["127.0.0.1"]
    assert interfaces_for("localhost") == ["127.0.0.1"]
    assert interfaces_for("192.168.1.5") == ["192.168.1.5"]
    assert not isinstance(interfaces_for("0.0.0.0"), list)


@given(label=st.text(min_size=0, max_size=100))
def test_instance_names_are_valid_dns_sd_labels(label: str) -> None:
    name = instance_name(label)
    assert 1 <= len(name.encode("utf-8")) <= 63
    assert "." not in name


def test_found_hub_api_url() -> None:
    f = Found("dhome hub", SERVICE_TYPE, "x", None, ["fe80::1"], 8470, {"api": "/api/v1"})
    assert f.api_url == "http://[fe80::1]:8470/api/v1"
    assert Found("Matter node", "_matter._tcp.local.", "x", None, ["10.0.0.2"], 5540).api_url is None
