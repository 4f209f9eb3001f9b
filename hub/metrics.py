"""Prometheus metrics of one hub (a private registry, so several hubs can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.messages_in = Counter(
            "dhome_messages_in", "Valid reports received from adapters", ["adapter", "kind"], registry=r
        )
        self.invalid = Counter(
            "dhome_invalid_messages", "Reports rejected as invalid", ["adapter", "reason"], registry=r
        )
        self.messages_out = Counter(
            "dhome_messages_out", "Messages delivered out of the hub", ["channel"], registry=r
        )
        self.bus_published = Counter("dhome_bus_published", "Messages published on the event bus", registry=r)
        self.bus_dropped = Counter(
            "dhome_bus_dropped",
            "Messages dropped because a subscriber queue was full",
            ["subscriber"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "dhome_queue_depth", "Messages waiting in a bus subscriber queue", ["subscriber"], registry=r
        )
        self.adapter_restarts = Counter(
            "dhome_adapter_restarts", "Adapter crashes followed by a restart", ["adapter"], registry=r
        )
        self.adapter_up = Gauge("dhome_adapter_up", "1 while the adapter is running", ["adapter"], registry=r)
        self.command_latency = Histogram(
            "dhome_command_latency_seconds",
            "Time from command dispatch to result",
            ["adapter", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.outbox_depth = Gauge(
            "dhome_outbox_depth", "Messages waiting in the outbox", ["subscription", "state"], registry=r
        )
        self.auth_failures = Counter(
            "dhome_auth_failures", "Rejected API authentications", ["reason"], registry=r
        )
        self.devices = Gauge("dhome_devices", "Registered devices", registry=r)
