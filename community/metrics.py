"""Prometheus metrics of the platform (own registry: two apps in one test process stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "community_webhooks_total", "webhooks by outcome", ["outcome"], registry=self.registry
        )
        self.uplink = Counter(
            "community_uplink_messages_total",
            "MQTT uplink messages by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.actions = Counter(
            "community_staff_actions_total", "staff actions", ["action"], registry=self.registry
        )
        self.escalations = Counter("community_escalations_total", "alerts escalated", registry=self.registry)
        self.ack_polls = Counter(
            "community_ack_polls_total", "acknowledgement polls answered", registry=self.registry
        )
        self.consent_changes = Counter(
            "community_consent_changes_total",
            "household consent records changed by the hub's link (changed / withdrawn)",
            ["change"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "community_open_alerts", "alerts staff still have to deal with", registry=self.registry
        )
