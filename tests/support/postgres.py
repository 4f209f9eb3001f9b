"""A real PostgreSQL server for tests (pytest plugin, loaded from tests/conftest.py).

``postgres_server`` (session): Debian's PostgreSQL binaries (``initdb``, ``pg_ctl`` under
``/usr/lib/postgresql/<version>/bin``) run a throw-away cluster in a temp dir on a free loopback
port. PostgreSQL refuses to run as root and CI runs as root, so there the cluster belongs to the
unprivileged ``postgres`` user (created by the Debian package) and every command runs through
``runuser -u postgres``. ``postgres_url`` (function): a fresh, empty database per test.
A missing binary is a failure with a message, never a skip: ``make install`` installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_START_TIMEOUT = 60.0


def find_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[4]))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl); "
            "install them with `make install` (Debian package 'postgresql')",
            pytrace=False,
        )
    return found[-1].parent


@dataclass
class PostgresServer:
    port: int
    data: Path
    bin: Path
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            [*self.as_user, str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-Atc", sql],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return out.stdout

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pg_bin = find_bin()
    root = Path(tempfile.mkdtemp(prefix="dhome-pg-"))
    as_user: list[str] = []
    if os.getuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [*as_user, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
         "--no-sync", "--locale=C.UTF-8"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
         "-t", str(int(_START_TIMEOUT)), "start"],
        check=True, capture_output=True, timeout=_START_TIMEOUT + 10,
    )  # fmt: skip
    deadline = time.monotonic() + _START_TIMEOUT
    while not _ready(port):
        if time.monotonic() > deadline:
            pytest.fail(f"PostgreSQL did not listen on {port}: {(root / 'log').read_text(errors='replace')}")
        time.sleep(0.1)
    try:
        yield PostgresServer(port, data, pg_bin, as_user)
    finally:
        subprocess.run([*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new empty database on the session's server (tests never see each other's rows)."""
    return postgres_server.create_database()
