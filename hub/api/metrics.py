"""The API's own metrics, and the bus gauges refreshed on every scrape of ``/metrics``."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from hub.bus import Subscription
    from hub.core import Hub


def subscriber_group(sub: Subscription) -> str:
    """Metric label of a bus subscriber: its name up to the first ``:`` (``ws:12:s1`` -> ``ws``)."""
    return sub.name.split(":", 1)[0]


_BY_REGISTRY: weakref.WeakKeyDictionary[object, ApiMetrics] = weakref.WeakKeyDictionary()


class ApiMetrics:
    @classmethod
    def of(cls, hub: Hub) -> ApiMetrics:
        """The API metrics of ``hub`` (registered once, reused when the service restarts)."""
        found = _BY_REGISTRY.get(hub.metrics.registry)
        if found is None:
            found = _BY_REGISTRY[hub.metrics.registry] = cls(hub)
        return found

    def __init__(self, hub: Hub) -> None:
        r = hub.metrics.registry
        self.requests = Counter(
            "dhome_api_requests", "API requests answered", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "dhome_api_request_seconds",
            "Time to answer an API request (WebSocket sessions not included)",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.ws_clients = Gauge("dhome_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_dropped = Counter(
            "dhome_ws_dropped", "WebSocket clients disconnected by the hub", ["reason"], registry=r
        )
        self.malformed = Counter(
            "dhome_api_malformed_requests", "HTTP requests the parser refused (answered 400)", registry=r
        )
        self._hub = hub
        self._seen_drops: dict[int, int] = {}

    def render(self, ws_depth: int = 0) -> bytes:
        self.refresh(ws_depth)
        return generate_latest(self._hub.metrics.registry)

    def refresh(self, ws_depth: int = 0) -> None:
        """Queue depths per subscriber group (``ws``: what WebSocket clients have pending in the
        fan-out) and drops since the last scrape."""
        m = self._hub.metrics
        depths: dict[str, int] = {"ws": ws_depth}
        live: dict[int, int] = {}
        for sub in self._hub.bus.subscribers():
            group = subscriber_group(sub)
            depths[group] = depths.get(group, 0) + sub.depth
            delta = sub.dropped - self._seen_drops.get(id(sub), 0)
            if delta > 0:
                m.bus_dropped.labels(group).inc(delta)
            live[id(sub)] = sub.dropped
        self._seen_drops = live
        m.queue_depth.clear()
        for group, depth in depths.items():
            m.queue_depth.labels(group).set(depth)
        m.devices.set(len(self._hub.registry))
