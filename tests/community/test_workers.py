"""``dhome-community serve --workers N``: a service manager's stop (SIGTERM to the parent)
stops every worker process too — none is left behind holding the port or the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    return {int(c) for c in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sigterm_to_the_parent_stops_every_worker(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "community.yaml"
    config.write_text(yaml.safe_dump({"host": "127.0.0.1", "port": port, "database": f"sqlite:///{tmp_path / 'c.db'}",
                                      "public_url": f"http://127.0.0.1:{port}", "log_format": "text"}))  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "community", "--config", str(config), "serve", "--workers", "2"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.1)
        assert len(workers) == 2, "two worker processes under the parent"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "workers left running after their parent stopped"
    finally:
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
