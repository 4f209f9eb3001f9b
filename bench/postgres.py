"""A throw-away PostgreSQL server from Debian's binaries (``/usr/lib/postgresql/<v>/bin``), in a
temp dir on a free loopback port. PostgreSQL refuses to run as root, so under root the cluster
belongs to the unprivileged ``postgres`` user (made by the Debian package) and every command runs
through ``runuser -u postgres``. Used by the benchmarks and by the tests' fixtures."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.broker import free_port

START_TIMEOUT = 60.0


class PostgresMissing(Exception):
    pass


def find_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[4]))
    if not found:
        raise PostgresMissing(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl); "
            "install them with `make install` (Debian package 'postgresql')"
        )
    return found[-1].parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_bin()
        self.root = Path(tempfile.mkdtemp(prefix="dhome-pg-"))
        self.as_user: list[str] = []
        if os.getuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.port = free_port()

    def start(self) -> PostgresServer:
        subprocess.run(
            [*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off -c max_connections=200"
        )
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
             "-l", str(self.root / "log"), "-w", "-t", str(int(START_TIMEOUT)), "start"],
            check=True, capture_output=True, timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL did not listen on {self.port}: {self.log()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        subprocess.run(
            [*self.as_user, str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-Atc", f"CREATE DATABASE {name}"],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return self.url(name)
