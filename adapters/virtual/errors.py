"""Errors in home and scenario files: each problem names the file, the key path and what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dhi.validate import format_loc


@dataclass(frozen=True)
class Problem:
    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}"


class VirtualDataError(ValueError):
    """A home or scenario file is invalid; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class HomeError(VirtualDataError):
    pass


class ScenarioError(VirtualDataError):
    pass


def problems_from_validation(
    source: str, exc: ValidationError, prefix: tuple[int | str, ...] = ()
) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        # pydantic adds the union member / validator name to the location; keep the data path only
        loc = tuple(
            p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
        )
        kind = err["type"]
        if "[key]" in err["loc"]:
            # a mapping key that is not a string: YAML 1.1 reads unquoted on/off/yes/no as booleans
            key = err["input"]
            hint = ' (quote it: YAML reads unquoted on/off/yes/no as true/false, write "on")'
            where = format_loc(prefix + loc[:-1])
            out.append(
                Problem(
                    source, where, f"key {key!r} is not a string" + (hint if isinstance(key, bool) else "")
                )
            )
            continue
        if kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if kind != "value_error" and "input" in err and not isinstance(err["input"], dict | list):
                msg += f" (got {err['input']!r})"
        out.append(Problem(source, format_loc(prefix + loc), msg))
    return out


def load_yaml(path: Path, error: type[VirtualDataError]) -> Any:
    """Read a YAML file; a missing file or a syntax error names the file (and line:column)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error([Problem(source, "(file)", "no such file")]) from None
    except IsADirectoryError:
        raise error([Problem(source, "(file)", "is a directory, expected a YAML file")]) from None
    except UnicodeDecodeError as exc:
        raise error(
            [Problem(source, "(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise error([Problem(source, "(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        raise error(
            [Problem(source, where, f"YAML syntax error: {re.sub(r'\s+', ' ', str(exc.problem))}")]
        ) from None
    except yaml.YAMLError as exc:
        raise error([Problem(source, "(file)", f"YAML error: {exc}")]) from None
