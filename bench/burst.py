"""Scenario ``burst`` (issue 23): a 1M-message burst from 1 000 simulated Zigbee2MQTT devices,
published as fast as a paho process can, into a hub process. Measured: the hub's RSS after
the warm-up round and its peak (``VmHWM``) against idle + 50 MiB, the rate, how many history
rows were coalesced under saturation (``dhome_coalesced_total``), and whether every device's
final value landed in the ``state`` table.

Nothing may be missing: messages in (``dhome_messages_in``) must reach 3 reports per message
and stored history rows plus coalesced ones must be 2 changes per message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.broker import Broker
from bench.figures import Figure
from bench.hubproc import HubProcess, wait_until
from bench.ingest import COALESCED, HISTORY_ROWS, STATE_KEY, announce, rss_figures, z2m_adapter
from bench.loadgen import CHANGES_PER_MESSAGE, REPORTS_PER_MESSAGE, payload
from bench.procs import Child
from bench.progress import Display

STALLS = "dhome_storage_stalls_total{}"
PEAK = "dhome_ingest_queue_peak{queue=storage.telemetry}"
BOUND = "dhome_ingest_queue_bound{queue=storage.telemetry}"


@dataclass(frozen=True)
class Size:
    devices: int = 1000
    messages: int = 1_000_000
    timeout: float = 600.0


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    rounds = size.messages // size.devices
    messages = rounds * size.devices  # every device gets the same number: one final value
    with Broker(workdir / "broker-burst") as broker:
        announce(broker, size.devices)
        with HubProcess(workdir / "hub-burst", adapters=[z2m_adapter(broker)]) as hub:
            wait_until(lambda: hub.metric("dhome_devices{}") >= size.devices, 120, "the devices", 0.2)
            warm = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", size.devices)
            warm.wait_ready()
            warm.result()
            want = REPORTS_PER_MESSAGE * size.devices
            wait_until(lambda: hub.metric(STATE_KEY) >= want, 120, "the warm-up round", 0.1)
            time.sleep(1.0)
            idle = hub.rss()
            base = hub.metrics()
            base_hist = hub.db_count(HISTORY_ROWS)
            gen = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", messages,
                        "--round-offset", 1)  # fmt: skip
            gen.wait_ready()
            t0 = time.monotonic()
            done = 0
            with display.step(f"burst: {messages:,} messages into the hub", messages) as update:
                while time.monotonic() - t0 < size.timeout:
                    done = int((hub.metric(STATE_KEY) - base.get(STATE_KEY, 0)) / REPORTS_PER_MESSAGE)
                    update(done)
                    if done >= messages:
                        break
                    time.sleep(1.0)  # the bench's probing must not load the hub it measures
            t_done = time.monotonic()
            pub = gen.result()
            wait_until(lambda: hub.db_count(HISTORY_ROWS) - base_hist + hub.metric(COALESCED)
                       - base.get(COALESCED, 0) >= CHANGES_PER_MESSAGE * messages, 60, "history", 0.5)  # fmt: skip
            peak = hub.peak_rss()
            final = hub.metrics()
            stored = hub.db_count(HISTORY_ROWS) - base_hist
            final_value = orjson.loads(payload(rounds))["temperature"]
            landed = hub.db_count(
                "SELECT COUNT(*) FROM state WHERE capability = 'dhi.temperature' "
                f"AND CAST(value AS REAL) = {float(final_value)!r}"
            )
    coalesced = final.get(COALESCED, 0) - base.get(COALESCED, 0)
    rate = done / (t_done - pub["start"])
    sizes = f"{size.devices} devices, {messages:,} messages, publisher {pub['sent'] / (pub['end'] - pub['start']):,.0f} msg/s"
    queue = f"telemetry queue peak {final.get(PEAK, 0):,.0f} of {final.get(BOUND, 0):,.0f} rows, {final.get(STALLS, 0):.0f} stalls"
    return [
        Figure("burst.hub", round(rate), "msg/s", None, note=f"{done:,} of {messages:,} handled; {sizes}"),
        *rss_figures("burst", idle, peak),
        Figure("burst.history_coalesced", round(coalesced), "rows", CHANGES_PER_MESSAGE * messages,
               note=f"{stored:,} history rows stored; {queue}"),
        Figure("burst.final_values_landed", landed, "devices", size.devices, target="all",
               meets=landed == size.devices, note="state table holds each device's last temperature"),
    ]  # fmt: skip
