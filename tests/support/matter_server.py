"""A real python-matter-server for the tests (pytest plugin, loaded from tests/conftest.py).

The server (``.venv-matter/bin/matter-server``, made by ``make matter-server``) runs in a
network namespace of its own that has only a loopback interface: it binds its WebSocket
API to 127.0.0.1 there, and its mDNS browser and CHIP stack reach nothing beyond it. A
small TCP relay in this process forwards a free loopback port of the test host into that
namespace (the relay's upstream socket is created by a thread that joined the server's
namespace with ``setns``). Storage and the PAA certificate directory are temporary; a
fresh ``.version`` file there stops the server from fetching certificates.

Fixtures: ``matter_server`` (one server per test module) and ``matter_server_factory``
(fresh servers for tests that stop and restart them). Helpers import node dumps with
``import_test_node``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.matter.connection import ConnectionLost, MatterConnection
from adapters.matter.node import normalize_node
from adapters.matter.protocol import Command

REPO = Path(__file__).resolve().parents[2]
SERVER_BIN = Path(os.environ.get("DHOME_MATTER_SERVER", REPO / ".venv-matter" / "bin" / "matter-server"))
SERVER_PORT = 5580  # inside the server's own namespace, so it never collides
START_TIMEOUT = 90.0
CLONE_NEWNET = 0x40000000


class MatterServerError(RuntimeError):
    pass


def _check_prerequisites() -> None:
    problems = []
    if not SERVER_BIN.exists():
        problems.append(f"{SERVER_BIN} is missing: run `make matter-server`")
    if not (Path("/data").is_dir() and os.access("/data", os.W_OK)):
        problems.append("/data must exist and be writable (the CHIP stack keeps chip_factory.ini there)")
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            problems.append(f"`{tool}` is missing (Debian packages util-linux / iproute2)")
    if problems:
        raise MatterServerError("cannot start the Matter server: " + "; ".join(problems))


class _Relay:
    """Forward 127.0.0.1:<port> of this host into 127.0.0.1:<target> of another net namespace."""

    def __init__(self, netns: Path, target: int) -> None:
        self.netns = netns  # replaced when the server process restarts
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="matter-relay", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with self.netns.open("rb") as ns:
                os.setns(ns.fileno(), CLONE_NEWNET)  # this thread only; the socket keeps its namespace
            upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns.update((client, upstream))
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@dataclass
class MatterServer:
    """One real server process; ``url`` is its WebSocket API as seen from the tests."""

    root: Path
    proc: subprocess.Popen[bytes] | None = None
    relay: _Relay | None = None
    starts: int = 0
    _log: Any = field(default=None, repr=False)

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        if self.relay is None:
            raise MatterServerError("the Matter server is not running")
        return f"ws://127.0.0.1:{self.relay.port}/ws"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> None:
        """Start the server process (again): a restart keeps the same URL."""
        _check_prerequisites()
        paa = self.root / "paa"
        paa.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        # a fresh .version = "certificates fetched less than a day ago": no download attempt
        (paa / ".version").write_text("1")
        server = [
            str(SERVER_BIN),
            "--storage-path",
            str(self.storage),
            "--port",
            str(SERVER_PORT),
            "--listen-address",
            "127.0.0.1",
            "--paa-root-cert-dir",
            str(paa),
            "--log-level",
            "info",
        ]
        script = 'ip link set lo up && exec "$@"'
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", script, "matter-server", *server],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
        )
        self.starts += 1
        netns = Path(f"/proc/{self.proc.pid}/ns/net")
        if self.relay is None:
            self.relay = _Relay(netns, SERVER_PORT)
        else:
            self.relay.netns = netns
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise MatterServerError(
                    f"matter-server exited with code {self.proc.returncode} during start-up:\n{self.log_tail()}"
                )
            if self._probe_sync():
                return
            time.sleep(0.2)
        raise MatterServerError(
            f"matter-server did not answer within {START_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def _probe_sync(self) -> bool:
        # its own thread and loop: start() may be called from inside a running event loop
        result: list[bool] = []
        thread = threading.Thread(target=lambda: result.append(asyncio.run(self._probe())))
        thread.start()
        thread.join()
        return bool(result and result[0])

    async def _probe(self) -> bool:
        try:
            async with MatterConnection(self.url, connect_timeout=2):
                return True
        except ConnectionLost:
            return False

    def stop_process(self) -> None:
        """Stop the server but keep its URL (the relay) for a later :meth:`start`."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
        if self.relay is not None:
            self.relay.drop_connections()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        self.stop_process()
        if self.relay is not None:
            self.relay.close()
            self.relay = None


@pytest.fixture(scope="module")
def matter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatterServer]:
    server = MatterServer(tmp_path_factory.mktemp("matter-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def matter_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], MatterServer]]:
    servers: list[MatterServer] = []

    def make() -> MatterServer:
        server = MatterServer(tmp_path_factory.mktemp("matter-server"))
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


# ---------------------------------------------------------------- helpers for tests


def diagnostics_wrapper(dump: dict[str, Any]) -> dict[str, Any]:
    """What ``import_test_node`` takes: a Home Assistant diagnostics file around one node.

    Legacy dumps are converted to the current format first (the server's import rejects
    their extra keys, e.g. the old top-level ``events``)."""
    return {"data": {"node": normalize_node(dump)}}


async def import_nodes(url: str, dumps: list[dict[str, Any]]) -> list[int]:
    """Import node dumps as test nodes; returns the node ids the server gave them (900000+)."""
    async with MatterConnection(url) as conn:
        before = {n["node_id"] for n in await conn.command(Command.GET_NODES)}
        for dump in dumps:
            await conn.command(Command.IMPORT_TEST_NODE, dump=json.dumps(diagnostics_wrapper(dump)))
        after = await conn.command(Command.GET_NODES)
    return sorted(n["node_id"] for n in after if n["node_id"] not in before)


async def server_command(url: str, command: str, **args: Any) -> Any:
    """One command on a fresh connection (what a second controller client would do)."""
    async with MatterConnection(url) as conn:
        return await conn.command(command, **args)
