"""Simulated Zigbee2MQTT devices publishing state, as its own process (so the publisher does
not share a GIL with what it measures).

``python -m bench.loadgen --port P --devices N --count M [--rate R] [--round-offset K] [--shape S]``

Message ``i`` goes to device ``i % N`` as Zigbee2MQTT publishes it. Shape ``full`` (the
default) is the device's full state: battery, temperature, humidity, linkquality;
temperature and humidity change with every round, battery never: 3 state reports of which 2
are changes (history rows). Shape ``one`` is one temperature, a change every round.
``--rate 0`` publishes as fast as paho can; ``--count 0`` runs until SIGTERM. At the end it
prints one JSON line: ``{"start": t, "end": t, "sent": n}`` (``time.monotonic()``, which is
the same clock in every process on Linux). ``end`` is after the broker acknowledged a final
QoS 1 marker, so every message before it has left the publisher.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.devices import BASE_TOPIC, climate_name

MARKER_TOPIC = "bench/loadgen/done"


def _temperature(round_no: int) -> float:
    return round(15 + (round_no % 200) * 0.1, 1)


def payload(round_no: int) -> bytes:
    """The state of any device in round ``round_no``: consecutive rounds differ."""
    return orjson.dumps({
        "battery": 97,
        "temperature": _temperature(round_no),
        "humidity": round(30 + (round_no % 300) * 0.1, 1),
        "linkquality": 120,
    })  # fmt: skip


def one_field(round_no: int) -> bytes:
    """One temperature, different from the previous round's."""
    return orjson.dumps({"temperature": _temperature(round_no)})


@dataclass(frozen=True)
class Shape:
    """What every message carries: its payload per round, the state reports it makes (the
    hub's ``dhome_messages_in{kind=state}`` counts reports) and how many change (history rows)."""

    name: str
    payload: Callable[[int], bytes]
    reports: int
    changes: int


FULL = Shape("full", payload, reports=3, changes=2)
ONE = Shape("one", one_field, reports=1, changes=1)
SHAPES = {s.name: s for s in (FULL, ONE)}
#: per message of the default (full) shape
REPORTS_PER_MESSAGE = FULL.reports
CHANGES_PER_MESSAGE = FULL.changes


def connect(port: int, client_id: str) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit(f"loadgen: no CONNACK from 127.0.0.1:{port}")
    return client


def run(args: argparse.Namespace) -> dict[str, Any]:
    client = connect(args.port, f"bench-loadgen-{args.round_offset}-{time.monotonic_ns()}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    topics = [f"{BASE_TOPIC}/{climate_name(i)}".encode() for i in range(args.devices)]
    # one encoded payload per round, made before the clock starts
    rounds = (args.count // args.devices + 1) if args.count else 300
    make = SHAPES[args.shape].payload
    payloads = [make(r + args.round_offset) for r in range(rounds)]
    print("ready", flush=True)
    sent = 0
    start = time.monotonic()
    batch = max(1, args.rate // 100) if args.rate else 0
    while not stop.is_set() and (args.count == 0 or sent < args.count):
        n = batch or 1000  # unpaced: in chunks, so SIGTERM is seen
        if args.count:
            n = min(n, args.count - sent)
        for _ in range(n):
            client.publish(
                topics[sent % args.devices].decode(), payloads[(sent // args.devices) % rounds], qos=0
            )
            sent += 1
        if batch:  # paced: `batch` messages every 10 ms, catching up if a batch was late
            delay = start + sent / args.rate - time.monotonic()
            if delay > 0:
                stop.wait(delay)
    info = client.publish(MARKER_TOPIC, b"done", qos=1)
    info.wait_for_publish(120)
    end = time.monotonic()
    client.disconnect()
    client.loop_stop()
    return {"start": start, "end": end, "sent": sent}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--round-offset", type=int, default=0)
    parser.add_argument("--shape", choices=sorted(SHAPES), default=FULL.name)
    result = run(parser.parse_args(argv))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
