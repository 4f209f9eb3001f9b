"""``inactivity_due`` against a brute-force minute-by-minute search (property test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.alerts.schedule import in_window, inactivity_due

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class W:
    start: time
    end: time
    max_quiet: timedelta


minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
windows = st.lists(
    st.builds(W, minute_times, minute_times, st.integers(1, 30 * 60).map(lambda m: timedelta(minutes=m))),
    min_size=1,
    max_size=3,
)


def brute(last: datetime, now: datetime, ws: list[W]) -> datetime | None:
    t = now
    end = now + timedelta(days=3)
    while t <= end:
        local = t.astimezone(TZ).time()
        if any(in_window(local, w.start, w.end) and t - last >= w.max_quiet for w in ws):
            return t
        t += timedelta(minutes=1)
    return None


@settings(max_examples=60, deadline=None)
@given(ws=windows, quiet_so_far=st.integers(0, 40 * 60), start_minute=st.integers(0, 24 * 60 - 1))
def test_due_matches_brute_force(ws: list[W], quiet_so_far: int, start_minute: int) -> None:
    now = datetime(2026, 1, 15, tzinfo=UTC) + timedelta(minutes=start_minute)
    last = now - timedelta(minutes=quiet_so_far)
    due = inactivity_due(last, now, ws, TZ)
    expected = brute(last, now, ws)
    if expected is None:
        assert due is None or due > now + timedelta(days=3)
    else:
        assert due == expected


def test_whole_day_window() -> None:
    assert in_window(time(3), time(0), time(0))
    assert in_window(time(23), time(22), time(6)) and not in_window(time(12), time(22), time(6))
