"""``GET /metrics``: Prometheus text exposition of the hub's counters, gauges and histograms."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from hub.api.models import Scope
from hub.bus import Overflow
from tests.api.support import LAMP, THERMO, Harness, probe_ctx


async def scrape(
    http: aiohttp.ClientSession, h: Harness
) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    async with http.get(h.url + "/metrics", headers=h.auth(Scope.READ)) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        out.setdefault(family.name, {})
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def test_metrics_cover_messages_queues_drops_latency_outbox_and_restarts(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    hub = api_hub.hub
    slow = hub.bus.subscribe("test-slow", maxsize=2, overflow=Overflow.DROP_OLDEST)
    for i in range(5):
        probe_ctx(hub).publish_state(THERMO, "dhi.temperature", {"temperature": 15.0 + i})
    body = {"id": "m1", "capability": "dhi.on_off", "command": "toggle"}
    async with http.post(
        api_hub.url + f"/devices/{LAMP}/commands", json=body, headers=api_hub.auth(Scope.CONTROL)
    ) as r:
        assert r.status == 200

    m = await scrape(http, api_hub)
    assert m["dhome_messages_in_total"][(("adapter", "probe"), ("kind", "state"))] >= 8
    assert m["dhome_messages_in_total"][(("adapter", "probe"), ("kind", "device"))] == 3
    assert m["dhome_bus_published_total"][()] == hub.bus.published
    assert m["dhome_queue_depth"][(("subscriber", "test-slow"),)] == 2
    assert m["dhome_bus_dropped_total"][(("subscriber", "test-slow"),)] == slow.dropped > 0
    latency = m["dhome_command_latency_seconds_count"]
    assert latency[(("adapter", "probe"), ("status", "ok"))] == 1
    assert "dhome_outbox_depth" in m and "dhome_adapter_restarts" in m
    assert m["dhome_ws_clients"][()] == 0
    assert m["dhome_devices"][()] == 3

    # drops are counted once, not again on the next scrape
    again = await scrape(http, api_hub)
    assert again["dhome_bus_dropped_total"][(("subscriber", "test-slow"),)] == slow.dropped


async def test_metrics_need_a_read_token(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.get(api_hub.url + "/metrics") as resp:
        assert resp.status == 401
