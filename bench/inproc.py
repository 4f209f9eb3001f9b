"""The hub's own work per message, without MQTT: a ``Hub`` with the services of ``dhome run``
(activity log, consent, outbox, alert engine; no API), the Zigbee2MQTT bridge fed the
ingestion scenario's devices and payloads directly (``Bridge.handle_many``, one MQTT read's worth
at a time), everything down to the history rows in SQLite.

``python -m bench.inproc [--devices N] [--messages M] [--shape full|one] [--profile FILE]``

Prints microseconds per message (best of ``--repeat`` runs) and the process CPU time, which
is more than the wall time when SQLite works in parallel with the event loop. Not a figure
of ``make bench``: a tool to see what a change to the ingestion path does, quickly and
without the noise of a broker and publisher sharing the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import sys
import tempfile
import time
from pathlib import Path

import orjson

from adapters.zigbee2mqtt.bridge import Bridge
from bench.devices import bridge_devices, climate_name
from bench.loadgen import FULL, SHAPES, Shape
from hub.activity_log import ActivityLog
from hub.cli.run import _GC_YOUNG, alert_services
from hub.config import HubConfig
from hub.context import HubAdapterContext
from hub.core import Hub

READ = 256  # messages handed over at once (as one MQTT read brings them), then a loop turn


async def run_once(
    devices: int, messages: int, workdir: Path, profile: cProfile.Profile | None, shape: Shape = FULL
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to ingest ``messages`` state messages, history included."""
    cfg = HubConfig.model_validate({"api": {"enabled": False}, "mdns": {"enabled": False}})
    hub = Hub(cfg, data_dir=workdir)
    hub.add_service(ActivityLog())
    for service in alert_services():
        hub.add_service(service)
    async with hub:
        bridge = Bridge(HubAdapterContext(hub, "zigbee2mqtt"))
        bridge.handle("bridge/state", b'{"state":"online"}')
        bridge.handle("bridge/devices", orjson.dumps(bridge_devices(devices)))
        names = [climate_name(i) for i in range(devices)]
        for name in names:  # warm-up: every device known and reported once
            bridge.handle(name, shape.payload(0))
        await hub.storage.flush()
        gc.collect()
        gc.freeze()  # as `dhome run` does once the device set is quiet
        threshold = gc.get_threshold()
        gc.set_threshold(_GC_YOUNG, *threshold[1:])  # and its young generation's threshold
        rounds = [shape.payload(r + 1) for r in range(messages // devices + 1)]
        before = await hub.storage.fetchone("SELECT COUNT(*) FROM history")
        if profile is not None:
            profile.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, messages, READ):
            bridge.handle_many(
                [
                    (names[i % devices], rounds[i // devices], False)
                    for i in range(start, min(start + READ, messages))
                ]
            )
            await asyncio.sleep(0)
        for _ in range(10):  # let the alert engine and the activity log drain their queues
            await asyncio.sleep(0)
        await hub.storage.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profile is not None:
            profile.disable()
        after = await hub.storage.fetchone("SELECT COUNT(*) FROM history")
        coalesced = hub.storage.coalesced.get("history", 0)  # SQLite fell behind: counted, not lost
    gc.unfreeze()
    gc.set_threshold(*threshold)
    stored = (after[0] if after else 0) - (before[0] if before else 0)
    if stored + coalesced != shape.changes * messages:
        raise SystemExit(
            f"expected {shape.changes * messages} history rows, found {stored} (+{coalesced} coalesced)"
        )
    if coalesced:
        sys.stderr.write(f"{coalesced} of {stored + coalesced} history rows coalesced\n")
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--shape", choices=sorted(SHAPES), default=FULL.name, help="the payload: full state or one field"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile stats file of the last run")
    args = parser.parse_args(argv)
    best: tuple[float, float] | None = None
    for n in range(args.repeat):
        profile = cProfile.Profile() if args.profile and n == args.repeat - 1 else None
        with tempfile.TemporaryDirectory(prefix="dhome-inproc-") as tmp:
            result = asyncio.run(
                run_once(args.devices, args.messages, Path(tmp), profile, SHAPES[args.shape])
            )
        best = result if best is None or result[0] < best[0] else best
        if profile is not None:
            profile.dump_stats(args.profile)
    assert best is not None
    per = 1e6 / args.messages
    sys.stdout.write(
        f"{best[0] * per:.1f} µs/message wall, {best[1] * per:.1f} µs/message CPU "
        f"({args.shape}: {args.devices} devices, {args.messages} messages, best of {args.repeat})\n"
    )


if __name__ == "__main__":
    main()
