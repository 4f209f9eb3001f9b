"""One hub per data directory. Two hubs on one SQLite file would both write its state, alerts
and outbox (each marking the other's devices unavailable at start, each delivering the same
alerts), so ``Hub.start`` takes an exclusive lock on ``<data dir>/dhome.lock`` and a second hub
is refused with a clear message naming the first one's process. The lock is the kernel's
(``flock``): a hub killed with ``kill -9`` leaves no stale lock behind. Readers of a running
hub's data (``dhome state dump``, ``dhome audit``, ``dhome token``) do not take it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from dhi.errors import Conflict
from hub.private import FILE_MODE

LOCK_NAME = "dhome.lock"


class DataDirLock:
    """``acquire()`` at start (raises ``Conflict`` when another hub holds it), ``release()``
    at stop; the file stays (removing it would race with a hub starting)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            pid_zh = f"（进程 {holder}）" if holder else ""  # noqa: RUF001 - Chinese punctuation
            pid_en = f" (process {holder})" if holder else ""
            raise Conflict(
                f"另一个 dhome 中枢{pid_zh}正在使用数据目录 {self.path.parent}：请先停止它，或为本中枢另设 --data-dir。"  # noqa: RUF001 - Chinese punctuation
                f"\nanother dhome hub{pid_en} is using the data directory {self.path.parent}: "
                "stop it first, or give this hub its own --data-dir",
                field="data_dir",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor ends the flock


def _holder(fd: int) -> str:
    """The process id the holding hub wrote, if readable."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = os.pread(fd, 32, 0).decode().strip()
        if text.isdigit():
            return text
    return ""
