"""The ceiling of ingestion: a raw paho-mqtt subscriber that only decodes JSON with orjson,
as its own process (like the hub).

``python -m bench.rawsub --port P --topic T --count M``

Prints ``ready`` once subscribed, then, when ``M`` messages arrived (or nothing came for
``--idle`` seconds), one JSON line ``{"count": n, "first": t, "last": t}`` (monotonic clock).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class Counter:
    def __init__(self, count: int) -> None:
        self.want = count
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.done = threading.Event()

    def on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        orjson.loads(msg.payload)
        now = time.monotonic()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        if self.count >= self.want:
            self.done.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args(argv)
    counter = Counter(args.count)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{time.monotonic_ns()}",
                         protocol=paho.MQTTv311)  # fmt: skip
    subscribed = threading.Event()
    client.on_message = counter.on_message
    client.on_connect = lambda c, *a: c.subscribe(args.topic, qos=1)
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    if not subscribed.wait(10):
        raise SystemExit("rawsub: no SUBACK")
    print("ready", flush=True)
    seen = -1
    while not counter.done.wait(args.idle):
        if counter.count == seen:  # nothing new for `idle` seconds: report what arrived
            break
        seen = counter.count
    client.disconnect()
    client.loop_stop()
    out = {"count": counter.count, "first": counter.first, "last": counter.last}
    sys.stdout.write(orjson.dumps(out).decode() + "\n")


if __name__ == "__main__":
    main()
