"""A small synchronous paho client for the bench process itself (announcing devices,
injecting smoke, measuring round trips), with receive times taken in the paho thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.broker import BenchError

Handler = Callable[[str, bytes, float], None]


class Client:
    def __init__(self, port: int, client_id: str) -> None:
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        self._client.max_queued_messages_set(0)
        self._handlers: list[tuple[str, Handler]] = []
        self._connected = threading.Event()
        self._client.on_connect = lambda *a: self._connected.set()
        self._client.on_message = self._on_message
        self._port = port

    def __enter__(self) -> Client:
        self._client.connect("127.0.0.1", self._port, keepalive=60)
        self._client.loop_start()
        if not self._connected.wait(10):
            raise BenchError(f"no CONNACK from 127.0.0.1:{self._port}")
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            # a measuring client must not add Nagle's delay (40 ms with delayed ACKs) itself
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        # time.time(): compared with the platform's receive stamps (wall clock, same machine)
        now = time.time()
        for pattern, handler in self._handlers:
            if paho.topic_matches_sub(pattern, msg.topic):
                handler(msg.topic, bytes(msg.payload), now)

    def subscribe(self, pattern: str, handler: Handler) -> None:
        done = threading.Event()
        self._handlers.append((pattern, handler))
        self._client.on_subscribe = lambda *a: done.set()
        self._client.subscribe(pattern, qos=1)
        if not done.wait(10):
            raise BenchError(f"no SUBACK for {pattern}")

    def publish(self, topic: str, payload: bytes | Any, *, retain: bool = False, qos: int = 1) -> None:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        info = self._client.publish(topic, data, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(60)
            if not info.is_published():
                raise BenchError(f"could not publish to {topic}")
