"""Times in scenario files: offsets from the start, durations and local times of day.

Accepted forms (always quoted in YAML — unquoted ``12:00:00`` is read by YAML 1.1 as the
sexagesimal number 43200, so a number is rejected with a hint rather than misread):

* offset      ``+HH:MM`` / ``+HH:MM:SS`` (hours may exceed 23: ``+36:00:00``) or compact
              ``+1d2h30m15s`` (any non-empty subset, in this order)
* duration    the same without the leading ``+`` (``24:00:00``, ``12h``, ``90m``)
* time of day ``HH:MM`` / ``HH:MM:SS`` (00 to 23 h): the first such local time at or after the
              previous step, in the UTC offset of the scenario's ``start``
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from dhi.timefmt import parse_duration_text

_TIME_OF_DAY = re.compile(r"^(?P<h>[01]\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?$")

OFFSET_HELP = "'+HH:MM[:SS]' or '+1d2h30m' (offset from start), or 'HH:MM[:SS]' (local time of day)"
DURATION_HELP = "'HH:MM[:SS]' or '1d2h30m15s'"


class TimeFormatError(ValueError):
    """A scenario time that does not parse; the message says what is accepted."""


def _reject_non_string(value: Any, help_text: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int):
            raise TimeFormatError(
                f"got the number {value}: quote times in YAML (unquoted 12:00:00 is read as a number); "
                f"expected {help_text}"
            )
        raise TimeFormatError(f"expected a string {help_text}, got {type(value).__name__}")
    return value.strip()


def parse_duration(value: Any) -> timedelta:
    """``'24:00:00'``, ``'12h'``, ``'1d2h'`` … → timedelta (a leading ``+`` is allowed)."""
    return _duration(_reject_non_string(value, DURATION_HELP).removeprefix("+"))


def _duration(text: str) -> timedelta:
    parsed = parse_duration_text(text)
    if parsed is None:
        raise TimeFormatError(f"{text!r} is not a duration: expected {DURATION_HELP}")
    return parsed


def parse_offset(value: Any) -> timedelta:
    """``'+00:10:00'`` / ``'+10m'`` → timedelta; the ``+`` is required (it tells offsets from times)."""
    text = _reject_non_string(value, OFFSET_HELP)
    if not text.startswith("+"):
        raise TimeFormatError(f"{text!r} is not an offset: expected {OFFSET_HELP}")
    try:
        return _duration(text[1:])
    except TimeFormatError:
        raise TimeFormatError(f"{text!r} is not an offset: expected {OFFSET_HELP}") from None


def parse_time_of_day(value: Any) -> time:
    text = _reject_non_string(value, OFFSET_HELP)
    m = _TIME_OF_DAY.match(text)
    if m is None:
        raise TimeFormatError(f"{text!r} is not a time: expected {OFFSET_HELP}")
    return time(int(m["h"]), int(m["m"]), int(m["s"] or 0))


def check_at(value: Any) -> str:
    """Validate the syntax of a step's ``at`` (offset or time of day); returns the stripped text."""
    text = _reject_non_string(value, OFFSET_HELP)
    if text.startswith("+"):
        parse_offset(text)
    else:
        parse_time_of_day(text)
    return text


def resolve_at(text: str, start: datetime, previous: datetime) -> datetime:
    """When a step happens: ``start + offset``, or the first ``HH:MM`` at or after ``previous``
    (local to ``start``'s UTC offset, so ``03:00`` after a 22:00 start is the next night)."""
    if text.startswith("+"):
        return start + parse_offset(text)
    tod = parse_time_of_day(text)
    local_prev = previous.astimezone(start.tzinfo)
    candidate = datetime.combine(local_prev.date(), tod, tzinfo=start.tzinfo)
    if candidate < local_prev:
        candidate += timedelta(days=1)
    return candidate


def format_offset(delta: timedelta) -> str:
    """The canonical ``+HH:MM:SS`` form (whole seconds); ``parse_offset`` inverts it."""
    total = int(delta.total_seconds())
    if total < 0:
        raise ValueError("offsets are never negative")
    hours, rest = divmod(total, 3600)
    return f"+{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
