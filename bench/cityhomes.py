"""Many simulated homes in one process: a minimal MQTT 3.1.1 client per home (asyncio protocol,
one TCP connection each, no thread, no paho: thousands fit in one process), behaving like the hub's
uplink — clean session off under a stable client id, QoS 1, a failover list (home i starts on
server i % n), and what was not acknowledged when a connection drops is sent again (same message
id, DUP) after reconnecting to the next server. Every message is the hub's own uplink message
(bench/cityhome.py), built when it is sent (its CloudEvent time = publish time).

``python -m bench.cityhomes PORTS FIRST COUNT`` connects homes FIRST..FIRST+COUNT-1, prints
``ready <connected> <seconds>``, then obeys stdin lines:

* ``run SECONDS RATE PREFIX IDS_FILE`` — raise RATE alerts/s (spread at random over the homes) for
  SECONDS under topic prefix PREFIX, wait until every one is acknowledged (or 60 s), write the
  acknowledged message ids to IDS_FILE, print one JSON line of counts;
* ``quit`` — disconnect (the sessions stay on the cluster) and exit.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.cityhome import subscription, uplink_message
from bench.natscluster import raise_open_files

KINDS = ("smoke", "fall", "gas_leak", "sos")
CONNECTS_IN_FLIGHT = 200
DRAIN_TIMEOUT = 60.0


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: bytes) -> bytes:
    return len(s).to_bytes(2, "big") + s


def connect_packet(client_id: str) -> bytes:
    # protocol "MQTT" level 4 (3.1.1), flags 0 (clean session off), keepalive 0 (none: the bench
    # holds 10,000 idle connections without timers; a hub asks for 60 s)
    body = _str(b"MQTT") + bytes([4, 0]) + (0).to_bytes(2, "big") + _str(client_id.encode())
    return b"\x10" + varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, pid: int, dup: bool) -> bytes:
    body = _str(topic.encode()) + pid.to_bytes(2, "big") + payload
    return bytes([0x32 | (0x08 if dup else 0)]) + varint(len(body)) + body


class Home(asyncio.Protocol):
    def __init__(self, index: int, ports: list[int], owner: Homes) -> None:
        self.index, self.owner = index, owner
        self.name = f"city-{index}"
        self.ports = ports[index % len(ports) :] + ports[: index % len(ports)]
        self.at = 0
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.Event()
        self.buf = b""
        self.next_pid = 1
        self.inflight: dict[int, tuple[str, str, bytes]] = {}  # pid -> (message id, topic, body)
        self.connects = 0

    # ------------------------------------------------------------------ connecting
    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.create_connection(lambda: self, "127.0.0.1", self.ports[self.at])
                async with asyncio.timeout(10):
                    await self.connected.wait()
                return
            except (OSError, TimeoutError):
                if self.transport is not None:
                    self.transport.abort()
                self.at = (self.at + 1) % len(self.ports)  # the next server of the list
                await asyncio.sleep(random.uniform(0.2, 1.0))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buf = transport, b""
        transport.write(connect_packet(self.name))

    def connection_lost(self, exc: Exception | None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        self.transport = None
        if was and not self.owner.closing:
            self.owner.lost += 1
            self.at = (self.at + 1) % len(self.ports)
            self.owner.spawn(self.connect())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 2:
            length, i, shift = 0, 1, 0
            while True:
                if i >= len(self.buf):
                    return
                byte = self.buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if not byte & 0x80:
                    break
                shift += 7
            if len(self.buf) < i + length:
                return
            kind, body = self.buf[0] & 0xF0, self.buf[i : i + length]
            self.buf = self.buf[i + length :]
            self.packet(kind, body)

    def packet(self, kind: int, body: bytes) -> None:
        if kind == 0x20:  # CONNACK
            if body[1] != 0:
                assert self.transport is not None
                self.transport.abort()
                return
            self.connects += 1
            self.connected.set()
            for pid, (_mid, topic, payload) in sorted(self.inflight.items()):  # what was not acknowledged
                self.owner.resent += 1
                self.send(publish_packet(topic, payload, pid, dup=True))
        elif kind == 0x40:  # PUBACK
            sent = self.inflight.pop(int.from_bytes(body[:2], "big"), None)
            if sent is not None:
                self.owner.acked(sent[0])

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.connected.is_set():
            self.transport.write(data)

    # ------------------------------------------------------------------ publishing
    def publish(self, prefix: str) -> None:
        mid, topic, body = uplink_message(self.name, random.choice(KINDS), self.owner.sub(prefix))
        pid = self.next_pid
        self.next_pid = pid % 65535 + 1
        self.inflight[pid] = (mid, topic, body)
        self.send(publish_packet(topic, body, pid, dup=False))  # while away: sent on reconnect


class Homes:
    def __init__(self, ports: list[int], first: int, count: int) -> None:
        self.homes = [Home(i, ports, self) for i in range(first, first + count)]
        self.closing = False
        self.lost = self.resent = 0
        self.acked_ids: list[str] = []
        self._subs: dict[str, object] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def sub(self, prefix: str) -> object:
        if prefix not in self._subs:
            self._subs[prefix] = subscription(prefix)
        return self._subs[prefix]

    def spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def acked(self, message_id: str) -> None:
        self.acked_ids.append(message_id)

    async def connect_all(self) -> int:
        gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

        async def one(home: Home) -> None:
            async with gate:
                await home.connect()

        await asyncio.gather(*(one(h) for h in self.homes))
        return sum(h.connected.is_set() for h in self.homes)

    def inflight(self) -> int:
        return sum(len(h.inflight) for h in self.homes)

    async def run(self, seconds: float, rate: float, prefix: str, ids_file: Path) -> dict[str, object]:
        self.acked_ids, self.lost, self.resent = [], 0, 0
        t0 = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(elapsed * rate) - sent
            for _ in range(due):
                random.choice(self.homes).publish(prefix)
            sent += max(due, 0)
            await asyncio.sleep(0.005)
        send_seconds = time.monotonic() - t0
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while self.inflight() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        ids_file.write_bytes(orjson.dumps(self.acked_ids))
        return {"sent": sent, "acked": len(self.acked_ids), "unacked": self.inflight(), "lost_connections": self.lost,
                "resent": self.resent, "send_seconds": round(send_seconds, 2)}  # fmt: skip

    async def close(self) -> None:
        self.closing = True
        for h in self.homes:
            if h.transport is not None:
                h.transport.write(b"\xe0\x00")  # DISCONNECT: the session stays on the cluster
                h.transport.close()
        await asyncio.sleep(0.2)


async def main_async(ports: list[int], first: int, count: int, read_line: Callable[[], str]) -> None:
    homes = Homes(ports, first, count)
    t0 = time.monotonic()
    connected = await homes.connect_all()
    print(f"ready {connected} {time.monotonic() - t0:.1f}", flush=True)
    while True:
        line = (await asyncio.to_thread(read_line)).split()
        if not line or line[0] == "quit":
            break
        if line[0] == "run":
            result = await homes.run(float(line[1]), float(line[2]), line[3], Path(line[4]))
            print(orjson.dumps(result).decode(), flush=True)
    await homes.close()


def main() -> None:
    raise_open_files()
    ports = [int(p) for p in sys.argv[1].split(",")]
    asyncio.run(main_async(ports, int(sys.argv[2]), int(sys.argv[3]), sys.stdin.readline))


if __name__ == "__main__":
    main()
