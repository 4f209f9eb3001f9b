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
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.broker import BenchError, Broker
from bench.devices import BASE_TOPIC, device_id, smoke_detector, smoke_name
from bench.figures import Figure, percentile
from bench.hubproc import HubProcess, wait_until
from bench.ingest import announce, z2m_adapter
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


def webhooks_reached(platform: Platform, n: int) -> Callable[[], list[float] | None]:
    """A poll for the platform's receive times once it has ``n`` raised alerts."""

    def poll() -> list[float] | None:
        got = platform.received(RAISED)
        return got if len(got) >= n else None

    return poll


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    webhook: list[float] = []
    uplink: list[float] = []
    rtt: list[float] = []
    receipts = Receipts()
    with Broker(workdir / "broker-latency") as broker, Platform(workdir / "platform") as platform:
        announce(broker, size.background_devices, size.samples)
        hub = HubProcess(
            workdir / "hub-latency", adapters=[z2m_adapter(broker)], alerts=alerts_config(platform, broker)
        )
        total = size.background_devices + size.samples
        # the probe's subscriber is its own connection, as the hub is for the smoke publish
        with (
            hub,
            Client(broker.port, "bench-latency") as client,
            Client(broker.port, "bench-probe") as prober,
        ):
            wait_until(lambda: hub.metric("dhome_devices{}") >= total, 120, f"{total} devices", 0.2)
            client.subscribe(f"{UPLINK_PREFIX}/+/alerts/#", receipts.on_uplink)
            prober.subscribe(PROBE, receipts.on_probe)
            for i in range(size.samples):  # every detector's first report: all clear
                client.publish(f"{BASE_TOPIC}/{smoke_name(i)}", {"smoke": False, "battery": 90}, qos=0)
            load = Child("loadgen", "--port", broker.port, "--devices", size.background_devices,
                         "--rate", size.background_rate)  # fmt: skip
            try:
                load.wait_ready()
                time.sleep(2.0)  # the load runs steadily before the first sample
                with display.step(
                    f"alert latency under {size.background_rate} msg/s", size.samples
                ) as update:
                    started = time.monotonic()
                    for i in range(size.samples):
                        if time.monotonic() - started > size.budget:
                            break
                        t0 = time.time()
                        client.publish(f"{BASE_TOPIC}/{smoke_name(i)}", {"smoke": True, "battery": 90}, qos=0)
                        uplink.append(receipts.wait(receipts.uplink, device_id(smoke_detector(i))) - t0)
                        got = wait_until(webhooks_reached(platform, i + 1), 10, f"webhook {i + 1}", 0.005)
                        webhook.append(got[i] - t0)
                        t1 = time.time()
                        client.publish(PROBE, str(i).encode(), qos=0)
                        rtt.append(receipts.wait(receipts.probe, i) - t1)
                        update(i + 1)
                        time.sleep(size.gap)
            finally:
                sent = load.terminate()
        bg_rate = sent["sent"] / (sent["end"] - sent["start"])
    return figures(webhook, uplink, rtt, bg_rate, size)


def tail(ms: list[float]) -> str:
    """The shape of the tail, which a p99 of a few hundred samples hides."""
    return f"p90 {percentile(ms, 90):.1f} ms, max {max(ms):.1f} ms, {sum(v > TARGET_P99_MS for v in ms)} over target"


def figures(
    webhook: list[float], uplink: list[float], rtt: list[float], bg: float, size: Size
) -> list[Figure]:
    ms = [[v * 1000 for v in series] for series in (webhook, uplink, rtt)]
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
