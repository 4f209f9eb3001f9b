"""Time-of-day windows in the home's time zone (pure functions, property-tested).

A window ``[start, end)`` wraps past midnight when ``end < start``; ``start == end`` is the
whole day. The inactivity rule asks: at what moment is the resident first overdue, i.e. the
earliest ``t >= now`` inside a window ``w`` with ``t - last_activity >= w.max_quiet``?
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Window(Protocol):
    @property
    def start(self) -> time: ...

    @property
    def end(self) -> time: ...

    @property
    def max_quiet(self) -> timedelta: ...


def in_window(t: time, start: time, end: time) -> bool:
    if start == end:
        return True
    if start < end:
        return start <= t < end
    return t >= start or t < end


def _occurrences(
    start: time, end: time, first: date, last: date, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """Each [begin, finish) of the window that starts on a local day in ``first..last``."""
    day = first
    while day <= last:
        begin = datetime.combine(day, start, tz)
        finish_day = day if start < end else day + timedelta(days=1)
        finish = datetime.combine(finish_day, end, tz)
        yield begin, finish
        day += timedelta(days=1)


def inactivity_due(
    last_activity: datetime, now: datetime, windows: Iterable[Window], tz: ZoneInfo
) -> datetime | None:
    """The earliest time at or after ``now`` when the resident is overdue (see module doc)."""
    windows = list(windows)
    if not windows:
        return None
    longest = max(w.max_quiet for w in windows)
    first = (min(now, last_activity).astimezone(tz) - timedelta(days=1)).date()
    last = (max(now, last_activity + longest).astimezone(tz) + timedelta(days=1)).date()
    best: datetime | None = None
    for w in windows:
        for begin, finish in _occurrences(w.start, w.end, first, last, tz):
            candidate = max(begin, last_activity + w.max_quiet, now)
            if candidate < finish and (best is None or candidate < best):
                best = candidate
    return best


def local_time(t: datetime, tz: ZoneInfo) -> time:
    return t.astimezone(tz).time()
