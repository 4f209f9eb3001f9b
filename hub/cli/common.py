"""What every CLI command shares: one-line errors instead of tracebacks, data-dir options."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from dhi.errors import HubError
from dhi.validate import DocumentError

# soft_wrap: a line (a path, an error) is never broken at the terminal width, so
# output stays greppable whatever COLUMNS is and however long the path.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Hub data directory (default: ./.dhome, or $DHOME_DATA_DIR)."),
]


def data_dir_or_default(value: Path | None) -> Path:
    return value or Path(os.environ.get("DHOME_DATA_DIR", ".dhome"))


def die(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def fail_cleanly() -> Iterator[None]:
    """Known failures print one clear line and exit 1; only real bugs show a traceback."""
    try:
        yield
    except (HubError, DocumentError, FileNotFoundError, PermissionError) as exc:
        text = exc.message if isinstance(exc, HubError) else str(exc)
        for line in text.splitlines() or [type(exc).__name__]:
            err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def setup_logging(level: str) -> None:
    level = os.environ.get("DHOME_LOG_LEVEL", level)
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
