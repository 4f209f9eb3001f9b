"""Helper processes of a benchmark (load generator, raw subscriber): started with
``python -m bench.<module>``, they print ``ready`` when set up and one JSON line at the end."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from bench.broker import BenchError

REPO = Path(__file__).resolve().parents[1]


def wait_or_kill(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Wait for a process asked to stop; kill it if it does not within ``timeout``."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class Child:
    def __init__(self, module: str, *args: str | int, argv: list[str] | None = None) -> None:
        """``python -m bench.<module> args``; ``argv``: another command, named ``module``."""
        self.module = module
        # Unbuffered: ``wait_ready`` reads the first line, ``result`` the rest with communicate(),
        # which reads the pipe itself. A buffered reader could take the result line along with
        # "ready" when both were written before the parent read (a quick child, a loaded
        # machine), and communicate() would then find nothing.
        self.popen = subprocess.Popen(
            argv or [sys.executable, "-m", f"bench.{module}", *map(str, args)], bufsize=0,
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def wait_ready(self) -> None:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline().decode().strip()
        if line != "ready":
            self.popen.wait(timeout=10)
            err = self.popen.stderr.read().decode(errors="replace") if self.popen.stderr else ""
            raise BenchError(f"bench.{self.module} did not start: {line!r} {err[-2000:]}")

    def result(self, timeout: float = 600) -> dict[str, Any]:
        try:
            out, err = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            out, err = self.popen.communicate()
        lines = out.decode().strip().splitlines()
        if self.popen.returncode != 0 or not lines:
            raise BenchError(f"bench.{self.module} failed ({self.popen.returncode}): {err.decode()[-2000:]}")
        data: dict[str, Any] = orjson.loads(lines[-1])
        return data

    def terminate(self) -> dict[str, Any]:
        """Stop a process that runs until SIGTERM, and read its result."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.result(timeout=60)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.communicate()
