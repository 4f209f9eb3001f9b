"""Scenario 1 — ingestion: N simulated Zigbee2MQTT devices publish M state messages through
Mosquitto into a hub process; messages/s fully processed (mapped, validated, state stored,
bus delivered, history persisted) against a raw paho+orjson subscriber on the same broker.

Two workloads (``Workload``): the full state of a climate sensor per message (``ingestion``)
and one temperature per message (``ingestion_one``). Each measures, in one run and in this
order, the raw ceiling, the hub as installed (the compiled per-message path, tools/compiled)
and the same hub on the pure-Python modules (``DHOME_PURE_PYTHON=1``): the A/B of compiling.

Completion signal: the history rows in the SQLite file reach the expected count *and* the
hub's ``dhome_messages_in{kind=state}`` (scraped from ``/metrics``) does; the rate is
``M / (last one observed - first publish)``. A warm-up round (one message per device) comes
first, so the measured rounds are the steady state of known devices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import BenchError, Broker
from bench.devices import BASE_TOPIC, bridge_devices
from bench.figures import Figure
from bench.hubproc import HubProcess, wait_until
from bench.loadgen import FULL, ONE, Shape
from bench.mqtt import Client
from bench.procs import Child
from bench.progress import Display

STATE_KEY = "dhome_messages_in_total{adapter=zigbee2mqtt,kind=state}"
#: rows in the history table: its AUTOINCREMENT seq (history is not pruned during a run)
HISTORY_ROWS = "SELECT COALESCE(MAX(seq), 0) FROM history"
INVALID_PREFIX = "dhome_invalid_messages_total"
PURE = {"DHOME_PURE_PYTHON": "1"}
COALESCED = "dhome_coalesced_total{table=history}"
MIB = 1024 * 1024
#: issue 23: peak RSS within idle + 50 MiB while a burst is ingested
RSS_HEADROOM = 50 * MIB


@dataclass(frozen=True)
class Workload:
    name: str  # the figures' prefix
    shape: Shape
    #: product target: share of the raw paho+orjson ceiling (issue 23)
    target: float


FULL_STATE = Workload("ingestion", FULL, 0.5)
ONE_FIELD = Workload("ingestion_one", ONE, 0.85)


@dataclass(frozen=True)
class Size:
    devices: int = 1000
    messages: int = 100_000
    #: give up waiting for the hub after this long (then the rate of what was processed)
    timeout: float = 300.0


def z2m_adapter(broker: Broker) -> dict[str, object]:
    return {"type": "zigbee2mqtt", "config": {"broker": {"url": broker.url}, "base_topic": BASE_TOPIC}}


def announce(broker: Broker, climate: int, smoke: int = 0) -> None:
    """What Zigbee2MQTT retains on start: bridge state and the device list."""
    with Client(broker.port, "bench-z2m-bridge") as c:
        c.publish(f"{BASE_TOPIC}/bridge/state", {"state": "online"}, retain=True)
        c.publish(f"{BASE_TOPIC}/bridge/devices", bridge_devices(climate, smoke), retain=True)


def raw_ceiling(broker: Broker, size: Size, display: Display, shape: Shape = FULL) -> tuple[float, float]:
    """(raw subscriber rate, publisher rate) in messages/s."""
    with display.step(f"ingestion ({shape.name}): raw paho+orjson subscriber", size.messages) as update:
        raw = Child("rawsub", "--port", broker.port, "--topic", f"{BASE_TOPIC}/+", "--count", size.messages)
        try:
            raw.wait_ready()
            gen = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", size.messages,
                        "--round-offset", 1, "--shape", shape.name)  # fmt: skip
            gen.wait_ready()
            pub = gen.result()
            got = raw.result()
        finally:
            raw.kill()
        update(got["count"])
    if got["count"] < size.messages:
        raise BenchError(f"raw subscriber got {got['count']} of {size.messages} messages")
    return got["count"] / (got["last"] - pub["start"]), pub["sent"] / (pub["end"] - pub["start"])


def _invalid(hub: HubProcess) -> float:
    return sum(v for k, v in hub.metrics().items() if k.startswith(INVALID_PREFIX))


@dataclass(frozen=True)
class HubRun:
    rate: float  # messages/s fully processed
    done: int  # messages fully processed
    note: str
    rss_idle: int  # bytes, after the warm-up round
    rss_peak: int  # bytes, VmHWM at the end of the run


def hub_rate(
    broker: Broker, workdir: Path, size: Size, display: Display, profile: Path | None = None,
    shape: Shape = FULL, env: dict[str, str] | None = None, label: str = "hub process",
) -> HubRun:  # fmt: skip
    """One hub process in ``workdir``; ``env``: its extra environment."""
    announce(broker, size.devices)
    with HubProcess(workdir, adapters=[z2m_adapter(broker)], profile=profile, env=env) as hub:
        wait_until(lambda: hub.metric("dhome_devices{}") >= size.devices, 120, f"{size.devices} devices", 0.2)
        warm = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", size.devices,
                     "--shape", shape.name)  # fmt: skip
        warm.wait_ready()
        warm.result()
        want = shape.reports * size.devices
        wait_until(lambda: hub.metric(STATE_KEY) >= want, 120, "the warm-up round", 0.1)
        base_state, base_hist = hub.metric(STATE_KEY), hub.db_count(HISTORY_ROWS)
        cpu_before = hub.cpu_seconds()
        rss_idle = hub.rss()
        invalid_before = _invalid(hub)
        gen = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", size.messages,
                    "--round-offset", 1, "--shape", shape.name)  # fmt: skip
        gen.wait_ready()
        t_start = probed = time.monotonic()
        base_coalesced = hub.metric(COALESCED)
        done = 0
        with display.step(f"ingestion ({shape.name}): {label} (z2m → history)", size.messages) as update:
            while time.monotonic() - t_start < size.timeout:
                # the cheap signal every 0.1 s (a rowid lookup, not a COUNT that scans the
                # growing table), the metrics page only once history is complete: the
                # bench's own probing must not load the machine the hub shares with it
                # history may be thinned under saturation (coalesced rows are counted): the
                # rows stored plus those coalesced are the changes made
                hist = (hub.db_count(HISTORY_ROWS) - base_hist) / shape.changes
                done = int(hist)
                if hist >= size.messages or time.monotonic() - probed > 1.0:
                    probed = time.monotonic()
                    metrics = hub.metrics()
                    coalesced = metrics.get(COALESCED, 0.0) - base_coalesced
                    hist += coalesced / shape.changes
                    state = (metrics.get(STATE_KEY, 0.0) - base_state) / shape.reports
                    done = int(min(state, hist))
                update(done)
                if done >= size.messages:
                    break
                time.sleep(0.1)
        t_done = time.monotonic()
        cpu = hub.cpu_seconds() - cpu_before
        pub = gen.result()
        rss_peak = hub.peak_rss()
        coalesced = hub.metric(COALESCED) - base_coalesced
        note = f"hub CPU {1e6 * cpu / max(done, 1):.0f} µs/message"
        if coalesced:
            note += f"; {coalesced:.0f} history rows coalesced"
        invalid = _invalid(hub) - invalid_before
        if invalid:
            note += f"; {invalid:.0f} messages counted invalid by the hub"
        if done < size.messages:
            note = f"only {done} of {size.messages} processed within {size.timeout:.0f}s; " + note
    return HubRun(done / (t_done - pub["start"]), done, note.strip("; "), rss_idle, rss_peak)


def build_status() -> str:
    """Which build of the per-message path the hub process loads when not told otherwise."""
    try:
        import dhome_compiled  # installed into the venv by tools/compiled/build.py
    except ImportError:
        return "absent"
    return str(dhome_compiled.status)


def run(workdir: Path, display: Display, size: Size = Size(), work: Workload = FULL_STATE) -> list[Figure]:
    status = build_status()
    with Broker(workdir / "broker-ingest") as broker:
        raw, pub = raw_ceiling(broker, size, display, work.shape)
        hub = hub_rate(broker, workdir / "hub-ingest", size, display, shape=work.shape)
        pure = hub_rate(broker, workdir / "hub-pure", size, display, shape=work.shape, env=PURE,
                        label="hub, pure Python")  # fmt: skip
    sizes = (
        f"{size.devices} devices, {size.messages} messages ({work.shape.name}), publisher {pub:,.0f} msg/s"
    )
    build = "compiled (mypyc)" if status == "compiled" else f"pure Python (compiled build {status})"
    return [
        Figure(f"{work.name}.raw_paho_orjson", round(raw), "msg/s", round(pub), note=f"ceiling of the hub; {sizes}"),
        Figure(f"{work.name}.hub", round(hub.rate), "msg/s", round(raw), target=f">= {work.target:.0%} of raw",
               meets=hub.rate >= work.target * raw, note="; ".join(p for p in (hub.note, build, sizes) if p)),
        Figure(f"{work.name}.hub_pure_python", round(pure.rate), "msg/s", round(raw),
               note="; ".join(p for p in (pure.note, "A/B: the same hub, DHOME_PURE_PYTHON=1") if p)),
        *rss_figures(work.name, hub.rss_idle, hub.rss_peak),
    ]  # fmt: skip


def rss_figures(bench: str, idle: int, peak: int) -> list[Figure]:
    """Idle and peak RSS; the peak's ceiling is idle + ``RSS_HEADROOM`` (issue 23's goal)."""
    bound = idle + RSS_HEADROOM
    return [
        Figure(f"{bench}.rss_idle", round(idle / MIB, 1), "MiB", None, note="VmRSS after the warm-up round"),
        Figure(f"{bench}.rss_peak", round(peak / MIB, 1), "MiB", round(bound / MIB, 1),
               target=f"<= idle + {RSS_HEADROOM // MIB} MiB", meets=peak <= bound,
               note="VmHWM of the hub process over the whole run (start-up included)"),
    ]  # fmt: skip


def profile(workdir: Path, display: Display, out: Path, size: Size = Size()) -> str:
    """The ingestion run with the hub under cProfile (slower: its rate is not a figure);
    returns the text summary, also written to ``out``."""
    from bench.profile import summarize

    stats = workdir / "hub-ingest.prof"
    with Broker(workdir / "broker-profile") as broker:
        run_ = hub_rate(broker, workdir / "hub-ingest", size, display, profile=stats)
    header = (
        f"ingestion under cProfile: {run_.done} messages, {size.devices} devices, "
        f"{run_.rate:,.0f} msg/s (profiled)\n"
    )
    text = header + summarize(stats)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
