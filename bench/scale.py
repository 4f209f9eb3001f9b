"""Scenario 3 — scale: hub RSS and cold-start time with 1k and 10k devices registered in the
SQLite file, and RSS per device.

The devices are registered by an in-process hub (the same ``Registry.upsert`` an adapter's
``publish_device`` goes through), then a hub *process* with no adapters starts from that
file: cold start is spawn → ``/health`` answering (Python start, imports, registry and state
loaded, services up); RSS is read from /proc once ``dhome_devices`` shows every device and
the start-up work settled. Each size is started ``STARTS`` times; the median start is reported
(the first start also pays the disk cache, the others measure the hub).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from pathlib import Path

from adapters.zigbee2mqtt import Zigbee2MqttAdapter
from bench.broker import BenchError
from bench.devices import BASE_TOPIC, climate_sensor
from bench.figures import Figure
from bench.hubproc import HOME, HubProcess, wait_until
from bench.progress import Display
from hub.config import parse_config
from hub.core import Hub

STARTS = 3
RSS_TARGET_MB = 200.0
START_TARGET_S = 2.0
MB = 1024 * 1024


async def register(data_dir: Path, count: int) -> None:
    """``count`` climate sensors in the registry of the hub whose data dir is ``data_dir``."""
    template = Zigbee2MqttAdapter.map_offline([climate_sensor(0)])[0].description
    assert template is not None
    hub = Hub(parse_config({"home": {"id": HOME}, "mdns": {"enabled": False}}), data_dir=data_dir)
    async with hub:
        for i in range(count):
            entry = climate_sensor(i)
            desc = template.model_copy(
                update={"id": f"{BASE_TOPIC}:{entry['ieee_address']}", "name": entry["friendly_name"]}
            )
            hub.registry.upsert(desc, BASE_TOPIC)
            if i % 500 == 0:
                await asyncio.sleep(0)  # let the batched writer run
        # Storage.close() cancels its flush task; a batch that task took but whose commit had
        # not started yet is then lost (seen here as "0 devices"). Commit and let it go idle.
        await hub.storage.flush()
        await asyncio.sleep(3 * hub.config.storage.batch_interval)
        await hub.storage.flush()
    with sqlite3.connect(f"file:{data_dir / 'dhome.db'}?mode=ro", uri=True) as db:
        stored = db.execute("SELECT COUNT(*) FROM devices").fetchone()[0]
    if stored != count:
        raise BenchError(f"registered {count} devices but the SQLite file has {stored}")


def measure(workdir: Path, count: int, display: Display) -> tuple[float, float]:
    """(median cold start s, RSS bytes) of a hub process with ``count`` devices."""
    hub = HubProcess(workdir)
    with display.step(f"scale: register {count} devices", 1) as update:
        asyncio.run(register(hub.data, count))
        update(1)
    starts: list[float] = []
    rss = 0.0
    with display.step(f"scale: {STARTS} cold starts with {count} devices", STARTS) as update:
        for i in range(STARTS):
            with hub:
                assert hub.start_seconds is not None
                starts.append(hub.start_seconds)
                try:
                    wait_until(lambda: hub.metric("dhome_devices{}") >= count, 120, f"{count} devices", 0.1)
                except BenchError as exc:
                    seen = hub.metric("dhome_devices{}")
                    raise BenchError(f"{exc} (dhome_devices={seen:.0f}); hub log:\n{hub.tail()}") from None
                time.sleep(1.0)  # availability events of the start written, caches warm
                rss = max(rss, hub.rss())
            update(i + 1)
    return statistics.median(starts), rss


def run(workdir: Path, display: Display, sizes: tuple[int, int] = (1000, 10_000)) -> list[Figure]:
    small, large = sizes
    s_start, s_rss = measure(workdir / f"scale-{small}", small, display)
    l_start, l_rss = measure(workdir / f"scale-{large}", large, display)
    per_device = (l_rss - s_rss) / (large - small)
    return [
        Figure(f"scale.rss.{small}", round(s_rss / MB, 1), "MB", RSS_TARGET_MB, target=f"< {RSS_TARGET_MB:.0f} MB",
               meets=s_rss / MB < RSS_TARGET_MB, note="ceiling = the 10k-device target"),
        Figure(f"scale.rss.{large}", round(l_rss / MB, 1), "MB", RSS_TARGET_MB, target=f"< {RSS_TARGET_MB:.0f} MB",
               meets=l_rss / MB < RSS_TARGET_MB, note="ceiling = target"),
        Figure("scale.rss_per_device", round(per_device / 1024, 2), "KiB", None,
               note=f"(RSS {large} - RSS {small}) / {large - small}"),
        Figure(f"scale.cold_start.{small}", round(s_start, 3), "s", START_TARGET_S,
               target=f"< {START_TARGET_S:.0f} s", meets=s_start < START_TARGET_S,
               note=f"spawn → /health, median of {STARTS}; ceiling = the 10k-device target"),
        Figure(f"scale.cold_start.{large}", round(l_start, 3), "s", START_TARGET_S,
               target=f"< {START_TARGET_S:.0f} s", meets=l_start < START_TARGET_S,
               note=f"spawn → /health, median of {STARTS}; ceiling = target"),
    ]  # fmt: skip
