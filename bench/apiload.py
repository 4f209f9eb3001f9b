"""Scenario — the API under load (issue 26): a hub process with 1 000 Zigbee2MQTT devices, a
publisher at 2 000 msg/s (4 000 ``state.changed``/s) through Mosquitto, a REST poller at
50 req/s (devices, state, events) and ``/health`` every 0.1 s on the health port (what a load
balancer probes, answered from a thread) and on the API's port, for each N:

1. *without clients*: publisher + poller only, ``quiet`` seconds;
2. *with clients*: N WebSocket clients subscribed to ``state.changed`` with ``batch: true``
   reading as fast as they can, plus one that reads nothing (all in one client process,
   ``bench.wsclients``), publisher + poller, ``loaded`` seconds.

Both phases are in the same hub process, so REST p50/p99 *with* clients has its ceiling —
the same figure *without* them — measured in the same run. Per client: the share of the
phase's ``state.changed`` messages it received (min and median over the N readers); drops
with their close code and reason; ``/health`` max latency (the health port; the API port's in the
note); REST p50/p99 by route in the note; the hub's peak RSS (``VmHWM``).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.broker import Broker
from bench.figures import Figure, percentile
from bench.hubproc import HubProcess, wait_until
from bench.ingest import COALESCED, HISTORY_ROWS, STATE_KEY, announce, z2m_adapter
from bench.loadgen import CHANGES_PER_MESSAGE, REPORTS_PER_MESSAGE
from bench.procs import Child
from bench.progress import Display

MB = 1_000_000


@dataclass(frozen=True)
class Size:
    clients: tuple[int, ...] = (50, 200)
    devices: int = 1000
    rate: int = 2000
    #: seconds of the phase without WebSocket clients, and of the phase with them
    quiet: float = 10.0
    loaded: float = 20.0
    rest_rate: float = 50.0


def peak_rss(pid: int) -> int:
    """``VmHWM`` (the process's peak resident set) from /proc, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _publish(broker: Broker, size: Size, seconds: float, round_offset: int) -> tuple[int, int]:
    """Publish ``rate`` msg/s for ``seconds``; (messages sent, next round offset)."""
    count = int(size.rate * seconds)
    gen = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", count,
                "--rate", size.rate, "--round-offset", round_offset)  # fmt: skip
    gen.wait_ready()
    sent = int(gen.result(timeout=seconds * 10 + 60)["sent"])
    return sent, round_offset + count // size.devices + 1


def _stored(hub: HubProcess) -> float:
    """History rows stored plus those coalesced under saturation (issue 23): the changes made."""
    return hub.db_count(HISTORY_ROWS) + hub.metric(COALESCED)


def _wait_processed(hub: HubProcess, changes: float) -> None:
    # the metrics page only once the rows alone are not enough (it costs the hub more)
    wait_until(
        lambda: hub.db_count(HISTORY_ROWS) >= changes or _stored(hub) >= changes,
        120,
        "the hub to store every change",
        0.2,
    )


#: the REST poller's routes, by the index its samples carry (bench.restpoll)
ROUTES = ("devices", "state", "events")


def _ms(samples: list[list[float]], start: float, end: float, route: int | None = None) -> list[float]:
    return [s[1] for s in samples if start <= s[0] < end and (route is None or s[3] == route)]


def _by_route(samples: list[list[float]], phases: tuple[tuple[float, float], ...], q: float) -> str:
    """p``q`` of each route in each phase, to tell a slow handler from a slow loop."""
    parts = []
    for i, route in enumerate(ROUTES):
        values = [percentile(ms, q) if (ms := _ms(samples, a, b, i)) else None for a, b in phases]
        parts.append(f"{route} " + " / ".join("n/a" if v is None else f"{v:.0f}" for v in values))
    return ", ".join(parts)


def _errors(samples: list[list[float]]) -> int:
    return sum(1 for s in samples if s[2] != 200)


def _drops(clients: list[dict[str, Any]]) -> str:
    reasons = Counter(f"{c['code']} {c['reason']!r}" for c in clients if c["code"] is not None or c["reason"])
    return ", ".join(f"{n} x {r}" for r, n in reasons.most_common()) or "none"


def run_one(broker: Broker, workdir: Path, size: Size, n: int, display: Display) -> list[Figure]:
    announce(broker, size.devices)
    name = f"api.n{n}"
    with HubProcess(workdir / f"hub-api-{n}", adapters=[z2m_adapter(broker)]) as hub:
        wait_until(lambda: hub.metric("dhome_devices{}") >= size.devices, 120, f"{size.devices} devices", 0.2)
        warm = Child("loadgen", "--port", broker.port, "--devices", size.devices, "--count", size.devices)
        warm.wait_ready()
        warm.result()
        wait_until(
            lambda: hub.metric(STATE_KEY) >= REPORTS_PER_MESSAGE * size.devices, 120, "the warm-up", 0.1
        )
        rss_start = hub.rss()
        poller = Child("restpoll", "--api", hub.api, "--token", hub.token, "--rate", str(size.rest_rate),
                       "--health", hub.health)  # fmt: skip
        clients: Child | None = None
        try:
            poller.wait_ready()
            with display.step(f"api N={n}: publisher + REST, no WebSocket clients", 2) as update:
                base = _stored(hub)
                t_quiet = time.monotonic()
                sent, offset = _publish(broker, size, size.quiet, 1)
                _wait_processed(hub, base + CHANGES_PER_MESSAGE * sent)
                update(1)
                clients = Child("wsclients", "--url", hub.api.replace("http", "ws", 1) + "/ws",
                                "--token", hub.token, "--clients", n)  # fmt: skip
                clients.wait_ready()
                update(2)
            with display.step(f"api N={n}: publisher + REST + {n} WebSocket clients", 1) as update:
                base = _stored(hub)
                t_loaded = time.monotonic()
                sent, _ = _publish(broker, size, size.loaded, offset)
                _wait_processed(hub, base + CHANGES_PER_MESSAGE * sent)
                time.sleep(1.0)  # what the hub stored it has sent, or is sending: let it arrive
                t_end = time.monotonic()
                ws = clients.terminate()
                update(1)
            polled = poller.terminate()
            peak = peak_rss(hub.pid)
        finally:
            poller.kill()
            if clients is not None:
                clients.kill()
    expected = CHANGES_PER_MESSAGE * sent
    ratios = [min(1.0, c["received"] / expected) for c in ws["clients"]] if expected else [0.0]
    quiet_ms = _ms(polled["rest"], t_quiet, t_loaded)
    loaded_ms = _ms(polled["rest"], t_loaded, t_end)
    health_quiet = _ms(polled["health"], t_quiet, t_loaded)
    health_loaded = _ms(polled["health"], t_loaded, t_end)
    api_health = [
        max(_ms(polled["api_health"], a, b), default=0.0) for a, b in ((t_loaded, t_end), (t_quiet, t_loaded))
    ]
    phases = (f"{size.devices} devices, {size.rate} msg/s ({CHANGES_PER_MESSAGE * size.rate} state.changed/s), "
              f"{size.quiet:g} s without / {size.loaded:g} s with {n} clients")  # fmt: skip
    idle = ws["idle"]
    idle_fate = (
        f"{idle['code']} {idle['reason']!r}" if idle["code"] is not None or idle["reason"] else "not closed"
    )
    cpu = f"client process CPU {ws['cpu_seconds']:.1f} s over {t_end - t_loaded:.1f} s"
    rest_note = f"{len(loaded_ms)} requests with, {len(quiet_ms)} without; non-200: {_errors(polled['rest'])}"
    phases_t = ((t_loaded, t_end), (t_quiet, t_loaded))
    p = {
        q: (percentile(loaded_ms, q), percentile(quiet_ms, q)) if loaded_ms and quiet_ms else (None, None)
        for q in (50, 99)
    }
    return [
        Figure(f"{name}.delivered.min", round(min(ratios), 4), "ratio", 1.0, target="every message",
               meets=min(ratios) >= 1.0,
               note=f"of {expected} state.changed; drops of readers: {_drops(ws['clients'])}; "
                    f"idle client: {idle_fate}; {cpu}; {phases}"),
        Figure(f"{name}.delivered.median", round(statistics.median(ratios), 4), "ratio", 1.0),
        *(Figure(f"{name}.rest.p{q}", None if w is None else round(w, 2), "ms",
                 None if wo is None else round(wo, 2),
                 note=f"with clients; ceiling = p{q} without them, same run; {rest_note}; "
                      f"by route (with / without, ms): {_by_route(polled['rest'], phases_t, q)}")
          for q, (w, wo) in p.items()),
        Figure(f"{name}.health.max", round(max(health_loaded + health_quiet, default=0.0), 2), "ms", None,
               note=f"health port: with clients {max(health_loaded, default=0.0):.1f} ms, "
                    f"without {max(health_quiet, default=0.0):.1f} ms; {len(health_loaded + health_quiet)} probes, "
                    f"non-200: {_errors(polled['health'])}; on the API port (the loop): with clients "
                    f"{api_health[0]:.1f} ms, without {api_health[1]:.1f} ms"),
        Figure(f"{name}.rss.peak", round(peak / MB, 1), "MB", None,
               note=f"VmHWM; {rss_start / MB:.1f} MB after the warm-up"),
    ]  # fmt: skip


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    figures: list[Figure] = []
    for n in size.clients:
        with Broker(workdir / f"broker-api-{n}") as broker:
            figures.extend(run_one(broker, workdir, size, n, display))
    return figures
