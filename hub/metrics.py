"""Prometheus metrics of one hub (a private registry, so several hubs can live in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class TallyChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class Tally(Collector):
    """A Prometheus counter for counts made on the event loop for every message: plain
    integers, read at scrape time. (``prometheus_client.Counter`` takes a lock per ``inc``,
    made for threads; at tens of thousands of messages a second that lock showed up.)"""

    def __init__(
        self, name: str, documentation: str, labelnames: tuple[str, ...], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._doc = documentation
        self._labelnames = labelnames
        self._children: dict[tuple[str, ...], TallyChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> TallyChild:
        if len(values) != len(self._labelnames):
            raise ValueError(f"{self._name} takes labels {self._labelnames}, got {values}")
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = TallyChild()
        return child

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for values, child in list(self._children.items()):
            family.add_metric(values, child.value)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._doc, labels=self._labelnames)


class Reading(Collector):
    """A Prometheus counter whose value something else keeps (``read`` is set by its owner,
    e.g. the bus's own message count): nothing to do per message."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._name = name
        self._doc = documentation
        self.read: Callable[[], int] = lambda: 0
        registry.register(self)

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._doc, value=self.read())

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._doc, value=0)


@dataclass(frozen=True, slots=True)
class QueueReading:
    """One bounded queue on the way from an adapter to SQLite, as a scrape sees it."""

    queue: str
    depth: int
    bound: int
    peak: int


class Queues(Collector):
    """Depth, bound and high-water mark of every bounded queue of the ingestion path, and
    what was coalesced or held back because one was full (docs/ingestion.md); the owners'
    own counts, read at scrape time (``sources`` and ``coalesced`` are set by the hub)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sources: list[Callable[[], Iterable[QueueReading]]] = []
        self.coalesced: Callable[[], dict[str, int]] = dict
        self.stalls: Callable[[], int] = lambda: 0
        self.commits: Callable[[], tuple[int, int, float]] = lambda: (0, 0, 0.0)
        registry.register(self)

    def readings(self) -> list[QueueReading]:
        return [r for source in self.sources for r in source()]

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        families = {
            "depth": GaugeMetricFamily("dhome_ingest_queue_depth", "Items waiting in the queue", labels=["queue"]),
            "bound": GaugeMetricFamily("dhome_ingest_queue_bound", "Most items the queue holds", labels=["queue"]),
            "peak": GaugeMetricFamily(
                "dhome_ingest_queue_peak", "Most items the queue held at once since start", labels=["queue"]
            ),
        }  # fmt: skip
        for r in self.readings():
            families["depth"].add_metric([r.queue], r.depth)
            families["bound"].add_metric([r.queue], r.bound)
            families["peak"].add_metric([r.queue], r.peak)
        yield from families.values()
        coalesced = CounterMetricFamily(
            "dhome_coalesced",
            "Bulk readings replaced by a newer one of the same property before storage (history thinned)",
            labels=["table"],
        )
        for table, n in sorted(self.coalesced().items()):
            coalesced.add_metric([table], n)
        yield coalesced
        commits, rows, seconds = self.commits()
        yield CounterMetricFamily("dhome_storage_commits", "SQLite transactions committed", value=commits)
        yield CounterMetricFamily("dhome_storage_rows", "Statements and rows committed to SQLite", value=rows)
        yield CounterMetricFamily(
            "dhome_storage_commit_seconds", "Time the storage thread spent committing", value=seconds
        )
        yield CounterMetricFamily(
            "dhome_storage_stalls",
            "Times ingestion waited for a commit: the telemetry queue was full of distinct properties",
            value=self.stalls(),
        )

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        return self.collect()


_ALERT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.messages_in = Tally(
            "dhome_messages_in", "Valid reports received from adapters", ("adapter", "kind"), registry=r
        )
        self.invalid = Counter(
            "dhome_invalid_messages", "Reports rejected as invalid", ["adapter", "reason"], registry=r
        )
        self.messages_out = Counter(
            "dhome_messages_out", "Messages delivered out of the hub", ["channel"], registry=r
        )
        self.bus_published = Reading("dhome_bus_published", "Messages published on the event bus", registry=r)
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
        # the safety path's two halves (docs/ingestion.md), observed once per alert message:
        # nothing per reading. Measured on the wall clock only (not with a simulated one).
        self.alert_raise_seconds = Histogram(
            "dhome_alert_raise_seconds",
            "Time from the message that raised an alert (its time: the device's own stamp if it "
            "sends one, else the hub's receipt) to the alert raised",
            ["kind"],
            buckets=_ALERT_BUCKETS,
            registry=r,
        )
        self.alert_delivery_seconds = Histogram(
            "dhome_alert_delivery_seconds",
            "Time from a message queued in the outbox (as the alert was raised, updated or "
            "cleared) to the receiver taking it, retries included",
            ["transport"],
            buckets=_ALERT_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "dhome_outbox_depth", "Messages waiting in the outbox", ["subscription", "state"], registry=r
        )
        # the MQTT uplink's consent notices (hub/bridges/uplink_consent.py)
        self.consent_notices = Counter(
            "dhome_consent_notices",
            "Consent notices on the MQTT uplink, by outcome: told, failed_attempt, dead_letter (a "
            "withdrawal given up), superseded (a withdrawal not told: a live subscription on the same uplink)",
            ["outcome"],
            registry=r,
        )
        self.consent_notices_retrying = Gauge(
            "dhome_consent_notices_retrying",
            "Subscriptions whose consent notice the uplink broker has not acknowledged yet (being retried)",
            registry=r,
        )
        self.auth_failures = Counter(
            "dhome_auth_failures", "Rejected API authentications", ["reason"], registry=r
        )
        self.devices = Gauge("dhome_devices", "Registered devices", registry=r)
        self.bridge_commands = Counter(
            "dhome_bridge_commands",
            "Commands that came in through a bridge (e.g. Home Assistant), by result: "
            "ok, failed (refused by the hub or the device), read_only, bad_payload",
            ["bridge", "result"],
            registry=r,
        )
        self.queues = Queues(r)
