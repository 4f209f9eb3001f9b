"""``python -m bench`` (``make bench``): run the scenarios, print one JSON line per figure and a
table, write ``bench/results/latest.json``. ``--smoke`` runs tiny sizes (what tests/bench does).

Targets not met are reported, not failed: the exit status is non-zero only when a scenario
could not run at all.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from bench import apiload, burst, city, community, conformance_run, ingest, latency, scale
from bench.broker import BenchError
from bench.figures import Figure, unavailable
from bench.machine import describe
from bench.progress import Display

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PROFILE = RESULTS.with_name("profile-ingest.txt")

Runner = Callable[[Path, Display], list[Figure]]


@dataclass(frozen=True)
class Scenario:
    name: str
    full: Runner
    smoke: Runner


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("ingestion", ingest.run, lambda w, d: ingest.run(w, d, ingest.Size(20, 400, 60))),
    Scenario("burst", burst.run, lambda w, d: burst.run(w, d, burst.Size(20, 2000, 60))),
    Scenario("alert_latency", latency.run,
             lambda w, d: latency.run(w, d, latency.Size(background_devices=20, background_rate=100, samples=3, burst_samples=3, burst_lead=0.5))),
    Scenario("scale", scale.run, lambda w, d: scale.run(w, d, (10, 500))),
    Scenario("conformance", conformance_run.run, lambda w, d: conformance_run.run(w, d, fuzz_examples=3)),
    Scenario("api_load", apiload.run,
             lambda w, d: apiload.run(w, d, apiload.Size(clients=(3,), devices=20, rate=100, quiet=2, loaded=3))),
    Scenario("platform", community.run, lambda w, d: community.run(w, d, community.Size(messages=200, in_flight=8))),
    Scenario("city", city.run,
             lambda w, d: city.run(w, d, city.Size(homes=60, processes=2, rate=40, seconds=2, fault_seconds=6, ack_wait=2))),
)  # fmt: skip


def table(figures: list[Figure]) -> Table:
    t = Table(title="dhome benchmarks")
    for col in ("bench", "value", "unit", "ceiling", "ratio", "target", "met"):
        t.add_column(col, justify="right" if col in ("value", "ceiling", "ratio") else "left")
    marks = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}
    for f in figures:
        t.add_row(f.bench, "n/a" if f.value is None else f"{f.value:,}", f.unit,
                  "" if f.ceiling is None else f"{f.ceiling:,}", "" if f.ratio is None else f"{f.ratio:.2f}",
                  f.target, marks[f.meets])  # fmt: skip
    return t


def run(names: list[str], *, smoke: bool, out: Path, quiet: bool, workdir: Path | None = None) -> int:
    """Run the named scenarios; returns the number of scenarios that could not run."""
    console = Console(stderr=True)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    figures: list[Figure] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="dhome-bench-") as tmp, Display(console, quiet=quiet) as display:
        base = workdir or Path(tmp)
        for sc in (s for s in SCENARIOS if s.name in names):
            try:
                got = (sc.smoke if smoke else sc.full)(base / sc.name, display)
            except BenchError as exc:
                failed += 1
                got = [unavailable(sc.name, "", f"could not run: {exc}")]
            except Exception as exc:  # one broken scenario must not hide the others' figures
                failed += 1
                got = [unavailable(sc.name, "", f"crashed: {type(exc).__name__}: {exc}")]
            for f in got:
                sys.stdout.write(orjson.dumps(f.as_json()).decode() + "\n")
                sys.stdout.flush()
            figures.extend(got)
    if not quiet:
        console.print(table(figures))
    result = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 1),
        "smoke": smoke,
        "machine": describe(),
        "figures": [f.as_json() for f in figures],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", nargs="+", choices=[s.name for s in SCENARIOS], default=[s.name for s in SCENARIOS]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every scenario runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quiet", action="store_true", help="no progress display and no table")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only profile the ingestion hub with cProfile (summary to bench/results/)",
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every broker, hub and platform process is stopped
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if args.profile:
        with (
            tempfile.TemporaryDirectory(prefix="dhome-bench-") as tmp,
            Display(Console(stderr=True)) as display,
        ):
            text = ingest.profile(Path(tmp), display, PROFILE, ingest.Size(messages=30_000))
        sys.stdout.write(text)
        return
    sys.exit(1 if run(args.only, smoke=args.smoke, out=args.out, quiet=args.quiet) else 0)


if __name__ == "__main__":
    main()
