"""The WebSocket fan-out alone, without MQTT: a ``Hub`` with the API and the services of
``dhome run``, the Zigbee2MQTT bridge fed the ingestion scenario's payloads directly
(``--rate`` messages/s, two ``state.changed`` each, in 50 ms steps), and ``bench.wsclients``
(N batch readers + one idle client, one process) reading for ``--seconds``.

``python -m bench.wsfanout --clients N [--rate R] [--seconds S] [--deflate 0|15]``

Prints one line: per reader the share of the ``state.changed`` messages it received (min,
median), how the idle client ended, the hub process's CPU seconds over the run and the event
loop's longest lag (a 50 ms step that came late), the client process's CPU seconds. Not a
figure of ``make bench``: a tool to see what a change to the fan-out does, without the broker
and the ingestion's own saturation in the way (what ``api_load`` measures as a whole).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from adapters.zigbee2mqtt.bridge import Bridge
from bench.devices import bridge_devices, climate_name
from bench.loadgen import CHANGES_PER_MESSAGE, payload
from bench.procs import REPO
from hub.api.models import Scope
from hub.api.server import ApiService
from hub.cli.run import alert_services
from hub.config import HubConfig
from hub.context import HubAdapterContext
from hub.core import Hub

STEP = 0.05


async def run(args: argparse.Namespace, workdir: Path) -> str:
    cfg = HubConfig.model_validate({"api": {"host": "127.0.0.1", "port": 0}, "mdns": {"enabled": False}})
    hub = Hub(cfg, data_dir=workdir)
    api = ApiService()
    hub.add_service(api)
    for service in alert_services():
        hub.add_service(service)
    async with hub:
        bridge = Bridge(HubAdapterContext(hub, "zigbee2mqtt"))
        bridge.handle("bridge/state", b'{"state":"online"}')
        bridge.handle("bridge/devices", orjson.dumps(bridge_devices(args.devices)))
        names = [climate_name(i) for i in range(args.devices)]
        for name in names:
            bridge.handle(name, payload(0))
        _, token = await api.context.tokens.create("bench-wsfanout", [Scope.READ])
        url = api.url.replace("http", "ws", 1) + "/ws"
        clients = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.wsclients", "--url", url, "--token", token,
            "--clients", str(args.clients), "--deflate", str(args.deflate),
            cwd=REPO, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert clients.stdout is not None
        ready = await clients.stdout.readline()
        if ready.strip() != b"ready":
            raise SystemExit(f"bench.wsclients did not start: {ready!r}")
        t0, cpu0 = time.monotonic(), time.process_time()
        sent = lag = 0.0
        messages = 0
        while (elapsed := time.monotonic() - t0) < args.seconds:
            due = int((elapsed + STEP) * args.rate) - messages
            for _ in range(max(0, due)):
                bridge.handle(names[messages % len(names)], payload(messages // len(names) + 1))
                messages += 1
            before = time.monotonic()
            await asyncio.sleep(STEP)
            lag = max(lag, time.monotonic() - before - STEP)
        cpu = time.process_time() - cpu0
        sent = CHANGES_PER_MESSAGE * messages
        clients.terminate()
        out, _ = await clients.communicate()
    result = orjson.loads(out.strip().splitlines()[-1])
    shares = [min(1.0, c["received"] / sent) for c in result["clients"]]
    idle = result["idle"]
    fate = f"{idle['code']} {idle['reason']!r}" if idle["code"] is not None else "not closed"
    dropped = sum(1 for c in result["clients"] if c["code"] is not None)
    return (
        f"N={args.clients} deflate={args.deflate} {sent:.0f} state.changed in {args.seconds:g} s: "
        f"delivered min {min(shares):.4f} median {statistics.median(shares):.4f}, {dropped} readers dropped; "
        f"idle client: {fate}; "
        f"hub CPU {cpu:.1f} s, longest loop lag {lag * 1000:.0f} ms; client process CPU {result['cpu_seconds']:.1f} s"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--rate", type=int, default=2000, help="Zigbee2MQTT messages/s (2 changes each)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--deflate", type=int, default=15, help="clients offer permessage-deflate (0: not)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dhome-wsfanout-") as tmp:
        print(asyncio.run(run(args, Path(tmp))))


if __name__ == "__main__":
    main()
