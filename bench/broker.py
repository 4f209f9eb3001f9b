"""A Mosquitto broker for one benchmark: loopback, free port, temp dir, no persistence.

The start/stop logic follows tests/support/mosquitto.py (which fails through pytest); here a
problem is a :class:`BenchError`. Queue limits are lifted so the broker never drops a message
a slow subscriber has not read yet: a benchmark must count every message it sent.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto")
_START_TIMEOUT = 15.0


class BenchError(RuntimeError):
    """A benchmark could not run (a missing tool, a component that did not start)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)
    if found is None:
        raise BenchError("mosquitto not found; `make install` installs it (Debian package 'mosquitto')")
    return found


def _mqtt_ping(port: int) -> bool:
    """True once the broker answers CONNECT with CONNACK (a TCP accept is not enough)."""
    connect = bytes([0x10, 0x10, 0x00, 0x04, *b"MQTT", 0x04, 0x02, 0x00, 0x05, 0x00, 0x04, *b"ping"])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(connect)
            ack = s.recv(4)
            s.sendall(bytes([0xE0, 0x00]))
            return ack[:1] == b"\x20"
    except OSError:
        return False


class Broker:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = workdir / "mosquitto.log"
        self.config = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "persistence false",
            # 0 = no limit: a subscriber behind the publishers gets every message, late
            "max_queued_messages 0",
            "max_queued_bytes 0",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "",
        ]
        self.config.write_text("\n".join(lines), encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                raise BenchError(f"mosquitto exited at start: {err.strip()}")
            if _mqtt_ping(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BenchError(f"mosquitto did not accept connections on {self.url} within {_START_TIMEOUT}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
