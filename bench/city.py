"""City scale (issue 21): many homes' alerts through a NATS JetStream cluster into platform workers
on PostgreSQL, end to end, all on this machine.

Simulated homes (bench/cityhomes.py: one MQTT 3.1.1 connection and persistent session per home,
multiplexed in a few processes, each home on server ``i % 3`` with the other two as failover)
publish exactly the hub's uplink message for a new alert, at a stated rate spread at random over
the homes. ``dhome-community worker`` processes take them from the durable consumer and commit
them. Per phase, the same offered load:

* a single NATS server (R1) and one worker — the baseline every ratio is taken against;
* the three-server cluster (R3) with one worker, then with two;
* faults, on the cluster with two workers: one server killed (``kill -9``) and restarted, one
  worker killed (``kill -9``) and a new one started while the homes keep publishing.

Reported: alerts/s end to end (alerts committed / seconds from the first raise to the last
commit), p50/p99 publish-to-commit, and for the faults the alerts acknowledged to the homes vs
committed vs lost vs duplicate rows vs duplicates the workers suppressed. The machine has 2 cores
shared by everything here (servers, workers, PostgreSQL, the simulated homes) and by other work:
figures compare with each other within the run; bench/README.md extrapolates.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.broker import BenchError
from bench.cityplatform import REPO, Workers, committed, enrol, latencies, span, stored_ids, write_settings
from bench.figures import Figure, percentile
from bench.natscluster import NatsCluster, raise_open_files
from bench.postgres import PostgresMissing, PostgresServer
from bench.procs import wait_or_kill
from bench.progress import Display

DRAIN_TIMEOUT = 90.0


@dataclass(frozen=True)
class Size:
    homes: int = 10_000
    processes: int = 4  # simulated-home processes
    rate: float = 600.0  # alerts/s offered, all homes together
    seconds: float = 15.0  # per measured phase
    fault_seconds: float = 24.0
    #: seconds before a killed worker's alerts go to another
    ack_wait: float = 5.0


TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used; 0 for one that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _postgres_pids(pg: PostgresServer) -> list[int]:
    """The postmaster and its children (the backends the workers hold)."""
    try:
        master = int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def nats_rss_mb(cluster: NatsCluster) -> float:
    return sum(_rss_mb(n.proc.pid) for n in cluster.nodes if n.proc is not None)


class CpuMeter:
    """CPU seconds per part of the set-up over a phase: a cost per alert that does not depend on
    how busy the shared machine is (the wall-clock figures do)."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        self.parts = parts
        self.start = {name: sum(_cpu(p) for p in pids) for name, pids in parts.items()}

    def used(self) -> dict[str, float]:
        return {name: sum(_cpu(p) for p in pids) - self.start[name] for name, pids in self.parts.items()}


@dataclass
class Phase:
    name: str
    sent: int = 0
    acked: int = 0
    committed: int = 0
    distinct: int = 0
    lost: int = 0
    duplicates_suppressed: int = 0
    resent: int = 0
    lost_connections: int = 0
    rate: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    events: list[str] = field(default_factory=list)
    #: CPU milliseconds per committed alert, by part (NATS servers, workers, PostgreSQL, homes)
    cpu_ms: dict[str, float] = field(default_factory=dict)


class Sims:
    """The simulated-home processes, connected once to a cluster and used for several phases."""

    def __init__(self, cluster: NatsCluster, size: Size) -> None:
        ports = ",".join(str(n.mqtt_port) for n in cluster.nodes)
        per = -(-size.homes // size.processes)
        argv = [sys.executable, "-m", "bench.cityhomes", ports]
        self.procs = [
            subprocess.Popen([*argv, str(first), str(min(per, size.homes - first))], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for first in range(0, size.homes, per)
        ]  # fmt: skip
        self.connected = 0
        self.connect_seconds = 0.0
        for p in self.procs:
            assert p.stdout is not None
            line = p.stdout.readline().split()
            if not line or line[0] != "ready":
                self.close()
                raise BenchError(f"simulated homes did not connect: {line!r}")
            self.connected += int(line[1])
            self.connect_seconds = max(self.connect_seconds, float(line[2]))

    def run(
        self, seconds: float, rate: float, prefix: str, workdir: Path
    ) -> tuple[list[dict[str, int]], set[str]]:
        files = [workdir / f"acked-{i}.json" for i in range(len(self.procs))]
        for p, f in zip(self.procs, files, strict=True):
            assert p.stdin is not None
            p.stdin.write(f"run {seconds} {rate / len(self.procs)} {prefix} {f}\n")
            p.stdin.flush()
        results = []
        for p in self.procs:
            assert p.stdout is not None
            results.append(orjson.loads(p.stdout.readline()))
        acked: set[str] = set()
        for f in files:
            acked |= set(orjson.loads(f.read_bytes()))
        return results, acked

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None and p.stdin is not None:
                p.stdin.write("quit\n")
                p.stdin.close()
        for p in self.procs:
            wait_or_kill(p, 20)
            if p.stdout is not None:
                p.stdout.close()


def _wait_committed(database: str, want: int) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while committed(database)[1] < want and time.monotonic() < deadline:
        time.sleep(0.5)


def phase(
    name: str, cluster: NatsCluster, sims: Sims, pg: PostgresServer, size: Size, workdir: Path, *,
    workers: int, seconds: float, faults: Callable[[Workers, Phase, float], None] | None = None,
) -> Phase:  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    database = pg.create_database()
    enrol(database, [f"city-{i}" for i in range(size.homes)])
    prefix = f"{name}/v1"
    config = write_settings(workdir / "platform.yaml", database, cluster, prefix=prefix, durable=name,
                            ack_wait=size.ack_wait, batch=100)  # fmt: skip
    result = Phase(name)
    with Workers(config, workdir, workers) as pool:
        injector = None
        if faults is not None:
            injector = threading.Thread(target=faults, args=(pool, result, time.monotonic()), daemon=True)
            injector.start()
        meter = CpuMeter({
            "nats": [n.proc.pid for n in cluster.nodes if n.proc is not None],
            "worker": [w.proc.pid for w in pool.all],
            "postgres": _postgres_pids(pg),
            "homes": [p.pid for p in sims.procs],
        })  # fmt: skip
        reports, acked = sims.run(seconds, size.rate, prefix, workdir)
        if injector is not None:
            injector.join()
        _wait_committed(database, len(acked))
        used = meter.used()
        time.sleep(size.ack_wait + 1)  # a redelivery still under way would land now
    rows, distinct = committed(database)
    result.sent = sum(r["sent"] for r in reports)
    result.acked = len(acked)
    result.committed, result.distinct = rows, distinct
    result.lost = len(acked - stored_ids(database))
    result.resent = sum(r["resent"] for r in reports)
    result.lost_connections = sum(r["lost_connections"] for r in reports)
    result.duplicates_suppressed = sum(w.counts.get("duplicate", 0) for w in pool.all)
    lat = latencies(database)
    if not lat:
        raise BenchError(f"{name}: nothing committed")
    result.p50, result.p99 = percentile(lat, 50), percentile(lat, 99)
    result.rate = distinct / max(span(database), 1e-6)
    result.cpu_ms = {name: round(1000 * seconds / max(distinct, 1), 3) for name, seconds in used.items()}
    return result


def fault_timeline(cluster: NatsCluster, seconds: float) -> Callable[[Workers, Phase, float], None]:
    """While the homes publish: kill -9 server n1 at 25 %, kill -9 worker 0 at 40 %, restart n1
    at 60 %, start a new worker at 70 % (workers join at run time)."""

    def run(pool: Workers, result: Phase, t0: float) -> None:
        steps: list[tuple[float, str, Callable[[], object]]] = [
            (0.25, "server n1 killed (kill -9)", lambda: cluster.kill_node(cluster.nodes[0])),
            (0.40, "worker 0 killed (kill -9)", pool.all[0].kill),
            (0.60, "server n1 restarted", lambda: cluster.start_node(cluster.nodes[0])),
            (0.70, "a new worker started", lambda: pool.add(1)),
        ]
        for at, what, act in steps:
            time.sleep(max(0.0, t0 + at * seconds - time.monotonic()))
            act()
            result.events.append(f"{time.monotonic() - t0:.1f}s {what}")

    return run


def _figures(p: Phase, base: Phase, size: Size, load: str) -> list[Figure]:
    stem = f"city.{p.name}"
    note = f"{size.homes} homes, {size.rate:g} alerts/s offered for the phase; {load}"
    return [
        Figure(f"{stem}.alerts_per_s", round(p.rate, 1), "alerts/s", round(base.rate, 1) if p is not base else None,
               note=f"{p.distinct} alerts raised→committed; ratio vs single server + 1 worker; {note}"),
        Figure(f"{stem}.p50", round(p.p50, 3), "s", round(base.p50, 3) if p is not base else None,
               note="publish (CloudEvent time) to commit (receive time), ratio vs the baseline"),
        Figure(f"{stem}.p99", round(p.p99, 3), "s", round(base.p99, 3) if p is not base else None),
        *(Figure(f"{stem}.cpu_ms.{part}", ms, "ms CPU/alert", None,
                 note="CPU time (user+system) of that part over the phase / alerts committed")
          for part, ms in p.cpu_ms.items()),
    ]  # fmt: skip


def _fault_figures(p: Phase) -> list[Figure]:
    stem = "city.faults"
    events = "; ".join(p.events)
    return [
        Figure(f"{stem}.acked", p.acked, "alerts", None, note=f"acknowledged (PUBACK) to the homes; {events}"),
        Figure(f"{stem}.committed", p.distinct, "alerts", p.acked, target="= acked", meets=p.distinct >= p.acked,
               note="distinct alerts committed; ratio vs acknowledged"),
        Figure(f"{stem}.lost", p.lost, "alerts", None, target="0", meets=p.lost == 0,
               note="acknowledged to a home but not committed"),
        Figure(f"{stem}.duplicate_rows", p.committed - p.distinct, "rows", None, target="0",
               meets=p.committed == p.distinct),
        Figure(f"{stem}.duplicates_suppressed", p.duplicates_suppressed, "messages", None,
               note=f"redeliveries and resent copies the surviving workers found stored already; homes resent "
                    f"{p.resent} unacknowledged publishes after {p.lost_connections} lost connections"),
        Figure(f"{stem}.p99", round(p.p99, 3), "s", None, note="publish to commit across the faults"),
    ]  # fmt: skip


def run(workdir: Path, display: Display, size: Size = Size()) -> list[Figure]:
    workdir.mkdir(parents=True, exist_ok=True)
    raise_open_files()
    try:
        pg = PostgresServer()
    except PostgresMissing as exc:
        raise BenchError(str(exc)) from exc
    pg.start()
    load_before = os.getloadavg()[0]
    try:
        with display.step("city: single NATS server, 1 worker", 1) as update:
            with NatsCluster(workdir / "single", servers=1) as single:
                sims = Sims(single, size)
                try:
                    base = phase("single_1w", single, sims, pg, size, workdir / "single_1w", workers=1,
                                 seconds=size.seconds)  # fmt: skip
                finally:
                    sims.close()
            update(1)
        phases: list[Phase] = []
        with (
            display.step("city: 3-server cluster (R3): 1 and 2 workers, then faults", 3) as update,
            NatsCluster(workdir / "r3", servers=3) as cluster,
        ):
            rss_before = nats_rss_mb(cluster)
            sims = Sims(cluster, size)
            connected, connect_seconds = sims.connected, sims.connect_seconds
            rss_per_1k = (nats_rss_mb(cluster) - rss_before) / max(connected, 1) * 1000
            try:
                for n in (1, 2):
                    phases.append(phase(f"r3_{n}w", cluster, sims, pg, size, workdir / f"r3_{n}w", workers=n,
                                        seconds=size.seconds))  # fmt: skip
                    update(1)
                faults = phase("faults", cluster, sims, pg, size, workdir / "faults", workers=2,
                               seconds=size.fault_seconds,
                               faults=fault_timeline(cluster, size.fault_seconds))  # fmt: skip
                update(1)
            finally:
                sims.close()
    finally:
        pg.stop()
    load = f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores"
    figures = [
        Figure("city.homes_connected", connected, "homes", size.homes, target=f"= {size.homes}",
               meets=connected == size.homes,
               note=f"persistent MQTT 3.1.1 sessions on the 3-server cluster in {size.processes} processes, "
                    f"connected in {connect_seconds:.1f}s"),
        Figure("city.nats_rss_per_1k_homes", round(rss_per_1k, 2), "MB", None,
               note="growth of the three servers' resident memory (together) per 1,000 connected sessions"),
    ]  # fmt: skip
    for p in (base, *phases):
        figures += _figures(p, base, size, load)
    return figures + _fault_figures(faults)
