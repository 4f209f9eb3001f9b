"""The community platform (``dhome-community``, SQLite) as its own process, and what it
recorded: every verified message with its receive time (wall clock, UTC)."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import yaml

from bench.broker import BenchError, free_port
from bench.hubproc import HOME, REPO, wait_until


def new_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + base64 of random bytes)."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class Platform:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.secret = new_secret()
        self.database = workdir / "platform.db"
        self.config = workdir / "platform.yaml"
        settings = {
            "host": "127.0.0.1",
            "port": self.port,
            "database": f"sqlite:///{self.database}",
            "public_url": self.url,
            "log_format": "text",
        }
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        # the bench hub is configured by hand (its webhook to /webhook): register its home and secret
        subprocess.run(
            [sys.executable, "-m", "community", "--config", str(self.config), "home", "add", HOME, "--name", "bench"],
            cwd=REPO, input=self.secret + "\n", text=True, check=True, capture_output=True,
        )  # fmt: skip
        self.log = workdir / "platform.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._db: sqlite3.Connection | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _up(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            raise BenchError(f"the platform exited at start: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def __enter__(self) -> Platform:
        argv = [sys.executable, "-m", "community", "--config", str(self.config), "serve"]
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(self._up, 30, "the platform to listen")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def received_nth(self, msg_type: str, n: int) -> float | None:
        """Receive time (Unix seconds) of the ``n``-th (0-based) message of ``msg_type``, or
        None before it has arrived. A poll of the latency bench, every few ms while an alarm
        is on its way: one indexed row on one kept connection, not every row parsed on a new
        one each time — the bench's own polling must not take CPU from the hub it measures
        (it did: the whole table read 200 times a second, more rows in the later burst phase)."""
        if self._db is None:
            if not self.database.exists():
                return None
            self._db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        row = self._db.execute(
            "SELECT received_at FROM messages WHERE type = ? ORDER BY rowid LIMIT 1 OFFSET ?", (msg_type, n)
        ).fetchone()
        return None if row is None else datetime.fromisoformat(row[0]).replace(tzinfo=UTC).timestamp()
