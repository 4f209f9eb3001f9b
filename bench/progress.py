"""The progress display: one ``rich.progress`` bar per step of a scenario."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class Step(Protocol):
    def __call__(self, completed: float) -> None: ...


class Display:
    """Wraps a ``Progress``; ``quiet`` (the smoke tests) shows nothing."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=quiet, transient=False,
        )  # fmt: skip

    def __enter__(self) -> Display:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def log(self, text: str) -> None:
        if not self.quiet:
            self._progress.console.print(text)

    @contextmanager
    def step(self, description: str, total: float) -> Iterator[Step]:
        task: TaskID = self._progress.add_task(description, total=total)

        def update(completed: float) -> None:
            self._progress.update(task, completed=min(completed, total))

        try:
            yield update
        finally:
            self._progress.stop_task(task)
