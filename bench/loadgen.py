"""Simulated Zigbee2MQTT devices publishing state, as its own process (so the publisher does
not share a GIL with what it measures).

``python -m bench.loadgen --port P --devices N --count M [--rate R] [--round-offset K]``

Message ``i`` goes to device ``i % N`` as Zigbee2MQTT publishes it (the device's full state:
battery, temperature, humidity, linkquality). Temperature and humidity change with every
round, battery never: each message is 3 state reports of which 2 are changes (history rows).
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
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.devices import BASE_TOPIC, climate_name

#: per message: state reports (battery, temperature, humidity) and how many of them change
REPORTS_PER_MESSAGE = 3
CHANGES_PER_MESSAGE = 2
MARKER_TOPIC = "bench/loadgen/done"


def payload(round_no: int) -> bytes:
    """The state of any device in round ``round_no``: consecutive rounds differ."""
    return orjson.dumps({
        "battery": 97,
        "temperature": round(15 + (round_no % 200) * 0.1, 1),
        "humidity": round(30 + (round_no % 300) * 0.1, 1),
        "linkquality": 120,
    })  # fmt: skip


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
    payloads = [payload(r + args.round_offset) for r in range(rounds)]
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
    result = run(parser.parse_args(argv))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
