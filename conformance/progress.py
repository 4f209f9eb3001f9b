"""The live progress display of a run (rich, on stderr so stdout stays machine-readable)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from conformance.registry import Case
from dhi.models.conformance import ResultStatus, TestResult

_STYLE = {
    ResultStatus.PASS: "green",
    ResultStatus.FAIL: "bold red",
    ResultStatus.ERROR: "magenta",
    ResultStatus.WARNING: "yellow",
    ResultStatus.NOT_APPLICABLE: "dim",
}


class RichProgress:
    """A bar with the running case, and one line per finished case that did not simply pass."""

    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.verbose = verbose
        self._progress: Progress | None = None
        self._task = TaskID(0)
        self._counts = dict.fromkeys(ResultStatus, 0)

    def begin(self, target: str, total: int) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(f"DHI {target}", total=total, counts="")

    def case_started(self, case: Case) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{case.id} {case.title[:50]}")

    def case_done(self, case: Case, result: TestResult) -> None:
        self._counts[result.status] += 1
        if self._progress is None:
            return
        counts = " ".join(
            f"[{_STYLE[s]}]{s.value.replace('_', '-')} {n}[/]" for s, n in self._counts.items() if n
        )
        self._progress.update(self._task, advance=1, counts=counts)
        if result.status is not ResultStatus.PASS or self.verbose:
            line = Text.assemble(
                (f"{result.status.value.replace('_', '-'):>14} ", _STYLE[result.status]),
                (f"{case.id} ", "bold"),
                case.title,
                (f" — {result.evidence.message}" if result.evidence.message else "", "dim"),
            )
            self._progress.console.print(line)

    def end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
