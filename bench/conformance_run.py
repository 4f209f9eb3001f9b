"""Scenario 4 — conformance speed: a full device-target run (default fuzz tier) of the example
vendor smoke alarm (``examples/vendor_device``) on a real Mosquitto, wall time of
``run_device_target``. Its verdict is reported beside the time: a fast run that fails is no
result to be proud of."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.broker import Broker
from bench.figures import Figure, unavailable
from bench.progress import Display

TARGET_S = 30.0
REPO = Path(__file__).resolve().parents[1]
CLAIMS = REPO / "examples" / "vendor_device" / "claims" / "smoke-alarm.yaml"
NAME = "conformance.device_target"


def run(workdir: Path, display: Display, fuzz_examples: int | None = None) -> list[Figure]:
    try:
        from conformance import run_device_target
        from examples.vendor_device import SmokeAlarm
    except ImportError as exc:
        return [unavailable(NAME, "s", f"not available yet: {exc}", f"< {TARGET_S:.0f} s")]
    if not CLAIMS.exists():
        return [unavailable(NAME, "s", f"not available yet: no claims file {CLAIMS}", f"< {TARGET_S:.0f} s")]
    with (
        Broker(workdir / "broker-conformance") as broker,
        display.step("conformance: example smoke alarm", 1) as update,
    ):
        device = SmokeAlarm(broker.url, "bench-smoke-1")
        with device:
            t0 = time.monotonic()
            report = asyncio.run(
                run_device_target(
                    broker.url, device.device, CLAIMS, fuzz_examples, client_id=device.client_id
                )
            )
            seconds = time.monotonic() - t0
        update(1)
    s = report.summary
    verdict = f"{s.pass_} pass, {s.fail} fail, {s.error} error, {s.warning} warning, {s.not_applicable} n/a"
    tier = f"fuzz_examples={fuzz_examples}" if fuzz_examples is not None else "default fuzz tier"
    return [
        Figure(NAME, round(seconds, 2), "s", TARGET_S, target=f"< {TARGET_S:.0f} s", meets=seconds < TARGET_S,
               note=f"{len(report.results)} cases ({verdict}); {tier}; ceiling = target"),
    ]  # fmt: skip
