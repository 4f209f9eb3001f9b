"""Durations and times of day in the alert configuration, as people write them in YAML.

Durations: ``90`` (seconds), ``"10m"``, ``"12h"``, ``"1d2h30m"``, ``"00:10:00"``.
Times of day: ``"07:00"`` / ``"07:00:30"``, always quoted — YAML 1.1 reads an unquoted
``7:30`` as the sexagesimal number 450, so a number is refused with that hint.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from dhi.timefmt import parse_duration_text

_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")

DURATION_HELP = "seconds (90), '10m', '12h', '1d2h30m' or 'HH:MM[:SS]'"
TIME_HELP = "a quoted local time 'HH:MM' or 'HH:MM:SS'"


def parse_duration(value: Any) -> timedelta:
    """Parse one duration; raise ``ValueError`` saying what is accepted."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a duration: {DURATION_HELP}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration: {DURATION_HELP}")
    text = value.strip()
    parsed = parse_duration_text(text)
    if parsed is not None:
        return parsed
    raise ValueError(f"{text!r} is not a duration: expected {DURATION_HELP}")


def format_duration(value: timedelta) -> str:
    """The compact form (``'1d2h30m'``), which ``parse_duration`` reads back exactly."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


def parse_time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f"got the number {value}: quote times of day in YAML (unquoted 7:30 is read as a number); "
            f"expected {TIME_HELP}"
        )
    if not isinstance(value, str) or not (m := _TIME_OF_DAY.match(value.strip())):
        raise ValueError(f"{value!r} is not a time of day: expected {TIME_HELP}")
    return time(int(m[1]), int(m[2]), int(m[3] or 0))


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
TimeOfDay = Annotated[
    time, BeforeValidator(parse_time_of_day), PlainSerializer(lambda t: t.isoformat(), return_type=str)
]
