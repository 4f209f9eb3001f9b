"""Scenario 2 — alert latency: with a background load of 1k state messages/s from 1k
simulated Zigbee2MQTT devices, smoke detectors report smoke one after the other; measured is
the time from the MQTT publish of ``{"smoke": true}`` to

* the signed webhook received (and verified) by the example community platform, a process
  (its own receive stamp in its SQLite file, wall clock), and
* the alert on the MQTT uplink (a ``mqtt`` subscription of the hub, read back here),

against the raw MQTT round trip on the same broker under the same load (publish → a paho
subscriber). Each smoke detector raises its own alert (no room: the alert scope is the
device), so every sample is a fresh ``alert.raised``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.broker import BenchError, Broker
from bench.devices import BASE_TOPIC, device_id, smoke_detector, smoke_name
from bench.figures import Figure, percentile, unavailable
from bench.hubproc import HubProcess, wait_until
from bench.ingest import STATE_KEY, announce, z2m_adapter
from bench.loadgen import REPORTS_PER_MESSAGE
from bench.mqtt import Client
from bench.platform import Platform
from bench.procs import Child
from bench.progress import Display

TARGET_P99_MS = 20.0
RAISED = "org.dhi.v1.alert.raised"
UPLINK_PREFIX = "bench"
PROBE = "bench-probe/rtt"
CONSENT = {"granted_by": "resident:bench", "granted_at": "2020-01-01T00:00:00+00:00"}


@dataclass(frozen=True)
class Size:
    background_devices: int = 1000
    background_rate: int = 1000
    samples: int = 500
    gap: float = 0.05  # seconds between one delivered alert and the next smoke
    #: stop sampling after this long (a slow hub must not make `make bench` take hours)
    budget: float = 120.0
    #: samples taken again while an unpaced publisher saturates the hub (0: no burst phase)
    burst_samples: int = 200
    #: seconds the burst runs before its first sample (the backlog builds up)
    burst_lead: float = 2.0
    #: the burst's publisher rate (msg/s): well above what the hub handles, below what the
    #: broker does — unpaced, on 2 shared cores, it saturated Mosquitto itself and measured that
    burst_rate: int = 10_000


def alerts_config(platform: Platform, broker: Broker) -> dict[str, object]:
    receiver = {"name": "Benchmark community", "kind": "community"}
    return {
        "outbox": {"base_delay": 0.1, "max_delay": 0.5},
        "subscriptions": [
            {"id": "community", "receiver": receiver, "transport": "webhook", "endpoint": platform.url + "/webhook",
             "secret": platform.secret, "alert_kinds": ["smoke"], "consent": CONSENT},
            {"id": "uplink", "receiver": receiver, "transport": "mqtt", "endpoint": f"{broker.url}/{UPLINK_PREFIX}",
             "alert_kinds": ["smoke"], "consent": CONSENT},
        ],
    }  # fmt: skip


class Receipts:
    """Receive times (wall clock) of the uplink alerts, by device, and of the RTT probes."""

    def __init__(self) -> None:
        self.uplink: dict[str, float] = {}
        self.probe: dict[int, float] = {}
        self.changed = threading.Condition()

    def on_uplink(self, topic: str, payload: bytes, now: float) -> None:
        body = orjson.loads(payload)
        alert = body.get("data", {}).get("alert", {})
        if body.get("type") == RAISED:
            with self.changed:
                for dev in alert.get("devices", []):
                    self.uplink.setdefault(dev, now)
                self.changed.notify_all()

    def on_probe(self, topic: str, payload: bytes, now: float) -> None:
        with self.changed:
            self.probe[int(payload)] = now
            self.changed.notify_all()

    def wait(self, table: dict[str, float] | dict[int, float], key: str | int, timeout: float = 10) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: key in table, timeout):
                raise BenchError(f"no receipt for {key!r} within {timeout}s")
            return table[key]  # type: ignore[index]


def webhook_reached(platform: Platform, n: int) -> Callable[[], float | None]:
    """A poll for the platform's receive time of its ``n``-th (1-based) raised alert."""

    return lambda: platform.received_nth(RAISED, n - 1)


@dataclass
class Samples:
    webhook: list[float] = field(default_factory=list)
    uplink: list[float] = field(default_factory=list)
    rtt: list[float] = field(default_factory=list)
    missed: str = ""  # why sampling stopped early, if it did


def sample(
    first: int,
    count: int,
    size: Size,
    client: Client,
    receipts: Receipts,
    platform: Platform,
    update: Callable[[int], None],
) -> Samples:
    """Smoke detectors ``first`` … ``first + count - 1`` report smoke one after the other."""
    out = Samples()
    started = time.monotonic()
    for n, i in enumerate(range(first, first + count)):
        if time.monotonic() - started > size.budget:
            break
        t0 = time.time()
        client.publish(f"{BASE_TOPIC}/{smoke_name(i)}", {"smoke": True, "battery": 90}, qos=0)
        try:
            uplink = receipts.wait(receipts.uplink, device_id(smoke_detector(i)), 60) - t0
            got = wait_until(webhook_reached(platform, i + 1), 60, f"webhook {i + 1}", 0.005)
        except BenchError as exc:
            out.missed = f"sample {n + 1} of {count} not delivered: {exc}"
            break  # the figures of the samples taken stand, with this note
        out.uplink.append(uplink)
        out.webhook.append(got - t0)
        t1 = time.time()
        client.publish(PROBE, str(i).encode(), qos=0)
        out.rtt.append(receipts.wait(receipts.probe, i, 60) - t1)
        update(n + 1)
        time.sleep(size.gap)
    return out


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    receipts = Receipts()
    detectors = size.samples + size.burst_samples
    with Broker(workdir / "broker-latency") as broker, Platform(workdir / "platform") as platform:
        announce(broker, size.background_devices, detectors)
        hub = HubProcess(
            workdir / "hub-latency", adapters=[z2m_adapter(broker)], alerts=alerts_config(platform, broker)
        )
        total = size.background_devices + detectors
        # the probe's subscriber is its own connection, as the hub is for the smoke publish
        with (
            hub,
            Client(broker.port, "bench-latency") as client,
            Client(broker.port, "bench-probe") as prober,
        ):
            wait_until(lambda: hub.metric("dhome_devices{}") >= total, 120, f"{total} devices", 0.2)
            client.subscribe(f"{UPLINK_PREFIX}/+/alerts/#", receipts.on_uplink)
            prober.subscribe(PROBE, receipts.on_probe)
            for i in range(detectors):  # every detector's first report: all clear
                client.publish(f"{BASE_TOPIC}/{smoke_name(i)}", {"smoke": False, "battery": 90}, qos=0)
            load = Child("loadgen", "--port", broker.port, "--devices", size.background_devices,
                         "--rate", size.background_rate)  # fmt: skip
            try:
                load.wait_ready()
                time.sleep(2.0)  # the load runs steadily before the first sample
                with display.step(
                    f"alert latency under {size.background_rate} msg/s", size.samples
                ) as update:
                    calm = sample(0, size.samples, size, client, receipts, platform, update)
            finally:
                sent = load.terminate()
            bg_rate = sent["sent"] / (sent["end"] - sent["start"])
            burst = Samples()
            saturation = ""
            if size.burst_samples:
                # until stopped, faster than the hub can handle: a backlog builds at the broker
                flood = Child("loadgen", "--port", broker.port, "--devices", size.background_devices,
                              "--rate", size.burst_rate, "--round-offset", 1000)  # fmt: skip
                try:
                    flood.wait_ready()
                    before = hub.metric(STATE_KEY)
                    time.sleep(size.burst_lead)
                    with display.step(
                        "alert latency during a saturating burst", size.burst_samples
                    ) as update:
                        t_burst = time.monotonic()
                        burst = sample(
                            size.samples, size.burst_samples, size, client, receipts, platform, update
                        )
                        handled = (hub.metric(STATE_KEY) - before) / REPORTS_PER_MESSAGE
                        seconds = time.monotonic() - t_burst + size.burst_lead
                finally:
                    flooded = flood.terminate()
                published = flooded["sent"] / (flooded["end"] - flooded["start"])
                saturation = (
                    f"burst: publisher {published:,.0f} msg/s, the hub handled {handled / seconds:,.0f} msg/s "
                    f"({flooded['sent'] - handled:,.0f} messages behind when it stopped)"
                )
    return figures(calm, bg_rate, size) + burst_figures(calm, burst, saturation, size)


def burst_figures(calm: Samples, burst: Samples, saturation: str, size: Size) -> list[Figure]:
    """The same alert paths while the hub is saturated, against the figure without the burst."""
    if not burst.webhook:
        if burst.missed:
            return [unavailable("alert.burst.webhook.p99", "ms", f"{burst.missed}; {saturation}")]
        return []
    rtt = [v * 1000 for v in burst.rtt]
    out = [
        Figure("alert.burst.raw_mqtt_rtt.p50", round(percentile(rtt, 50), 2), "ms", None,
               note="publish → paho subscriber during the burst: the broker's share"),
        Figure("alert.burst.raw_mqtt_rtt.p99", round(percentile(rtt, 99), 2), "ms", None,
               note="the same probe as without the burst, after each sample"),
    ] if rtt else []  # fmt: skip
    if rtt and calm.rtt:
        # what the broker itself adds under the burst is not the hub's: the webhook's p99 less the
        # raw round trip's p99, under the burst against the same without it
        calm_added = percentile([v * 1000 for v in calm.webhook], 99) - percentile(
            [v * 1000 for v in calm.rtt], 99
        )
        added = percentile([v * 1000 for v in burst.webhook], 99) - percentile(rtt, 99)
        out.append(Figure("alert.burst.hub_added.p99", round(added, 2), "ms", round(calm_added, 2),
                          target="< 2x without burst", meets=added < 2 * calm_added,
                          note="webhook p99 minus raw MQTT RTT p99 (the hub's and the receiving platform's share), "
                               "under the burst; ceiling: the same without it"))  # fmt: skip
    for path, calm_ms, burst_ms in (
        ("webhook", calm.webhook, burst.webhook),
        ("uplink", calm.uplink, burst.uplink),
    ):
        c = [v * 1000 for v in calm_ms]
        b = [v * 1000 for v in burst_ms]
        c99, b99 = percentile(c, 99), percentile(b, 99)
        out += [
            Figure(f"alert.burst.{path}.p50", round(percentile(b, 50), 2), "ms", round(percentile(c, 50), 2),
                   note=f"{len(b)} smoke alerts during the burst; ceiling: p50 without it"),
            Figure(f"alert.burst.{path}.p99", round(b99, 2), "ms", round(c99, 2), target="p99 < 2x p99 without burst",
                   meets=b99 < 2 * c99, note="; ".join(p for p in (tail(b), burst.missed, saturation) if p)),
        ]  # fmt: skip
    return out


def tail(ms: list[float]) -> str:
    """The shape of the tail, which a p99 of a few hundred samples hides."""
    return f"p90 {percentile(ms, 90):.1f} ms, max {max(ms):.1f} ms, {sum(v > TARGET_P99_MS for v in ms)} over target"


def figures(calm: Samples, bg: float, size: Size) -> list[Figure]:
    if not calm.webhook:
        return [unavailable("alert.webhook.p99", "ms", calm.missed or "no sample taken")]
    ms = [[v * 1000 for v in series] for series in (calm.webhook, calm.uplink, calm.rtt)]
    wh, up, raw = ms
    raw50, raw99 = percentile(raw, 50), percentile(raw, 99)
    cut = f" (of {size.samples}: time budget {size.budget:.0f}s)" if len(wh) < size.samples else ""
    load = f"{len(wh)} smoke alerts{cut}, background {bg:,.0f} msg/s from {size.background_devices} devices"
    target = f"p99 < {TARGET_P99_MS:.0f} ms"
    return [
        Figure("alert.raw_mqtt_rtt.p50", round(raw50, 2), "ms", None, note=f"publish → paho subscriber; {load}"),
        Figure("alert.raw_mqtt_rtt.p99", round(raw99, 2), "ms", None, note="ceiling of the alert paths"),
        Figure("alert.webhook.p50", round(percentile(wh, 50), 2), "ms", round(raw50, 2),
               note="MQTT publish → signed webhook verified by the example platform"),
        Figure("alert.webhook.p99", round(percentile(wh, 99), 2), "ms", round(raw99, 2), target=target,
               meets=percentile(wh, 99) < TARGET_P99_MS, note=f"{tail(wh)}; {load}"),
        Figure("alert.uplink.p50", round(percentile(up, 50), 2), "ms", round(raw50, 2),
               note="MQTT publish → alert on the hub's MQTT uplink"),
        Figure("alert.uplink.p99", round(percentile(up, 99), 2), "ms", round(raw99, 2), target=target,
               meets=percentile(up, 99) < TARGET_P99_MS, note=f"{tail(up)}; {load}"),
    ]  # fmt: skip
