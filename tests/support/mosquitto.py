"""A real Mosquitto broker for tests (pytest plugin, loaded from tests/conftest.py).

``mosquitto`` fixture: starts ``mosquitto`` on a free loopback port with a temp config and
persistence in a temp dir (so retained messages survive ``restart()``), waits until it
accepts MQTT connections, yields a :class:`Mosquitto` handle and stops it at teardown.
A missing binary is a failure with a message, never a skip: ``make install`` installs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import free_port

#: Where Debian's package puts the broker; ``PATH`` is searched first.
_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto")
_START_TIMEOUT = 15.0


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail(
            "mosquitto broker not found (looked in PATH and " + ", ".join(_CANDIDATES) + "); "
            "install it with `make install` (Debian package 'mosquitto')",
            pytrace=False,
        )
    return found


def _mqtt_ping(host: str, port: int, tls: ssl.SSLContext | None = None) -> bool:
    """True once the broker answers a CONNECT with CONNACK (a TCP accept is not enough)."""
    connect = bytes([0x10, 0x10, 0x00, 0x04, *b"MQTT", 0x04, 0x02, 0x00, 0x05, 0x00, 0x04, *b"ping"])
    try:
        raw = socket.create_connection((host, port), timeout=1.0)
        with tls.wrap_socket(raw, server_hostname=host) if tls else raw as s:
            s.sendall(connect)
            ack = s.recv(4)
            if ack[3:4] == b"\x00":
                s.sendall(bytes([0xE0, 0x00]))  # DISCONNECT
            # any CONNACK means "up": a broker that refuses anonymous clients answers 5
            return ack[:1] == b"\x20"
    except OSError:
        return False


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throw-away CA and a server certificate for ``host`` (IP SAN), made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl not found: needed to make test certificates (Debian package 'openssl')")
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "san.ext"
    ext.write_text(f"subjectAltName=IP:{host},DNS:localhost\n", encoding="utf-8")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dhome test CA",
         "-keyout", ca_key, "-out", ca],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", key, "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
         "-extfile", ext, "-out", cert],
    ]  # fmt: skip
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True)
    return TlsFiles(ca, cert, key)


class Mosquitto:
    """A running broker: ``url``/``host``/``port``; ``restart()`` keeps the port and the
    persistence dir, so retained messages and persistent sessions survive it."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        allow_anonymous: bool = True,
        tls: TlsFiles | None = None,
        users: dict[str, str] | None = None,
        max_inflight: int = 100,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls = tls
        self.users = dict(users or {})
        password_lines = []
        if self.users:  # a broker that requires a login (password_file, no anonymous clients)
            allow_anonymous = False
            passwords = workdir / "passwords"
            passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            for i, (user, password) in enumerate(self.users.items()):
                flags = ["-c", "-b"] if i == 0 else ["-b"]
                subprocess.run(
                    [passwd, *flags, str(passwords), user, password], check=True, capture_output=True
                )
            passwords.chmod(0o600)
            password_lines = [f"password_file {passwords}"]
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        (workdir / "data").mkdir(exist_ok=True)
        # persistence_location needs the trailing slash; autosave on every change makes a
        # retained message durable before restart() stops the broker.
        self.config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *(
                        [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
                        if tls is not None
                        else []
                    ),
                    f"allow_anonymous {'true' if allow_anonymous else 'false'}",
                    *password_lines,
                    # run as root (CI), mosquitto would drop to user 'mosquitto' and lose
                    # access to the temp dir; naming the current user keeps it.
                    f"user {pwd.getpwuid(os.getuid()).pw_name}",
                    "persistence true",
                    f"persistence_location {workdir / 'data'}/",
                    "autosave_interval 1",
                    "autosave_on_changes true",
                    # the broker's promise to a persistent session (spec §12): at most 100 QoS 1/2
                    # messages in flight per client, 10 000 queued while the hub is away
                    f"max_inflight_messages {max_inflight}",
                    "max_queued_messages 10000",
                    "persistent_client_expiration 1d",
                    f"log_dest file {self.log}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def _client_tls(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Mosquitto {self.url} {state}>"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                pytest.fail(f"mosquitto exited at start: {err.strip()} (log: {self._log_tail()})")
            if _mqtt_ping(self.host, self.port, self._client_tls()):
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"mosquitto did not accept connections on {self.url} within {_START_TIMEOUT}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: mosquitto writes its persistence file before exiting
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return "(no log)"


@pytest.fixture
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(find_mosquitto(), tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


#: the logins of ``mosquitto_auth``: the hub, Home Assistant and a test observer
AUTH_USERS = {"dhome": "dhome-secret-1", "homeassistant": "ha-secret-2", "observer": "observer-secret-3"}


@pytest.fixture
def mosquitto_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A broker that refuses anonymous clients; logins in ``AUTH_USERS``."""
    broker = Mosquitto(find_mosquitto(), tmp_path_factory.mktemp("mosquitto-auth"), users=AUTH_USERS)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class PeerMessage:
    topic: str
    payload: bytes
    retain: bool

    def text(self) -> str:
        return self.payload.decode("utf-8")


class MqttPeer:
    """The other side of the broker in a test: a plain paho client (its own network thread)
    acting as a vendor device or an observer. ``on(pattern, handler)`` lets a simulated
    device answer requests; ``messages`` records everything received."""

    def __init__(
        self,
        broker: Mosquitto,
        client_id: str = "test-peer",
        *,
        will: tuple[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.broker = broker
        self.messages: list[PeerMessage] = []
        self._lock = threading.Lock()
        self._handlers: list[tuple[str, Callable[[PeerMessage], None]]] = []
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        if credentials is not None:
            self._client.username_pw_set(*credentials)
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.1, 1)  # type: ignore[arg-type]
        tls = broker._client_tls()
        if tls is not None:
            self._client.tls_set_context(tls)
        self._connected = threading.Event()
        self._killed = False
        if will is not None:  # a retained Last Will, as devices announce "offline"
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._patterns: list[str] = []
        self._after_connect: list[Callable[[], None]] = []
        self._client.on_connect = self._on_connect

    def __enter__(self) -> MqttPeer:
        self._client.connect(self.broker.host, self.broker.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(10):
            raise AssertionError(f"test peer could not connect to {self.broker.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._killed:
            self._client.loop_stop()
            self._client._sock_close()
            return
        self._client.disconnect()
        self._client.loop_stop()

    def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a device losing power would:
        the broker then publishes the Last Will."""
        self._client.loop_stop()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
        self._killed = True

    async def wait_connected(self, timeout: float = 20) -> None:
        """Return once the client is connected (again, after a broker restart)."""
        async with asyncio.timeout(timeout):
            while not self._client.is_connected():
                await asyncio.sleep(0.02)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        # a device's session is clean: like a real one, subscribe again after every connect
        for pattern in self._patterns:
            client.subscribe(pattern, qos=1)
        for fn in self._after_connect:
            fn()
        self._connected.set()

    def after_connect(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (in the paho thread; use ``publish_async``) after every reconnect, as a
        device re-announcing itself would."""
        self._after_connect.append(fn)

    def subscribe(self, pattern: str) -> None:
        done = threading.Event()
        self._patterns.append(pattern)
        self._client.on_subscribe = lambda *a: done.set()
        self._client.subscribe(pattern, qos=1)
        if not done.wait(10):
            raise AssertionError(f"no SUBACK for {pattern}")

    def on(self, pattern: str, handler: Callable[[PeerMessage], None]) -> None:
        """Call ``handler`` (in the paho thread) for messages matching ``pattern``; subscribes."""
        self._handlers.append((pattern, handler))
        self.subscribe(pattern)

    def publish(
        self, topic: str, payload: bytes | str | dict[str, Any] | list[Any], *, retain: bool = False
    ) -> None:
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        if not info.is_published():
            raise AssertionError(f"test peer could not publish to {topic}")

    def publish_async(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish from inside a handler (the paho thread cannot wait for its own PUBACK)."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    def received(self, pattern: str) -> list[PeerMessage]:
        with self._lock:
            return [m for m in self.messages if paho.topic_matches_sub(pattern, m.topic)]

    async def wait_for(
        self, pattern: str, predicate: Callable[[PeerMessage], bool] = lambda m: True, timeout: float = 10
    ) -> PeerMessage:
        """The first received message on ``pattern`` satisfying ``predicate`` (polls)."""
        async with asyncio.timeout(timeout):
            while True:
                for m in self.received(pattern):
                    if predicate(m):
                        return m
                await asyncio.sleep(0.02)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        m = PeerMessage(msg.topic, bytes(msg.payload), bool(msg.retain))
        with self._lock:
            self.messages.append(m)
        for pattern, handler in list(self._handlers):
            if paho.topic_matches_sub(pattern, m.topic):
                handler(m)
