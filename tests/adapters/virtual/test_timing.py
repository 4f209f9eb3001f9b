"""Scenario time syntax: offsets, durations, times of day (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.virtual.timing import (
    TimeFormatError,
    check_at,
    format_offset,
    parse_duration,
    parse_offset,
    parse_time_of_day,
    resolve_at,
)

offsets = st.integers(min_value=0, max_value=9999 * 3600 + 3599).map(lambda s: timedelta(seconds=s))
zones = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(offsets)
def test_format_and_parse_offset_round_trip(delta: timedelta) -> None:
    text = format_offset(delta)
    assert text.startswith("+")
    assert parse_offset(text) == delta
    assert parse_duration(text[1:]) == delta
    assert check_at(text) == text


@given(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999), st.integers(0, 9999), st.booleans())
def test_compact_durations_add_up(d: int, h: int, m: int, s: int, plus: bool) -> None:
    parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
    text = "".join(f"{n}{u}" for n, u in parts if n) or "0s"
    assert parse_duration(("+" if plus else "") + text) == timedelta(days=d, hours=h, minutes=m, seconds=s)
    assert parse_offset("+" + text) == timedelta(days=d, hours=h, minutes=m, seconds=s)


@given(st.text(max_size=20))
def test_any_text_parses_or_fails_with_a_time_format_error(text: str) -> None:
    for parse in (parse_offset, parse_duration, parse_time_of_day, check_at):
        try:
            parse(text)
        except TimeFormatError as exc:
            assert "expected" in str(exc)


@given(st.one_of(st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.integers())))
def test_non_strings_are_rejected_with_a_hint(value: object) -> None:
    with pytest.raises(TimeFormatError) as err:
        check_at(value)
    if isinstance(value, int) and not isinstance(value, bool):
        assert "quote times" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+00:10:00", timedelta(minutes=10)),
        ("+00:10", timedelta(minutes=10)),
        ("+36:00:00", timedelta(hours=36)),
        ("+1d2h", timedelta(days=1, hours=2)),
        ("+90m", timedelta(minutes=90)),
        ("+45s", timedelta(seconds=45)),
    ],
)
def test_offset_examples(text: str, expected: timedelta) -> None:
    assert parse_offset(text) == expected


@pytest.mark.parametrize(
    "text", ["00:10:00", "+", "+10", "+1h2d", "+00:60:00", "+00:00:60", "+-1h", "+1.5h", "", "+ 1h", "+1hh"]
)
def test_bad_offsets(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_offset(text)


@pytest.mark.parametrize("text", ["24:00", "7:30", "07:60", "07:30:60", "0730", "+07:30x"])
def test_bad_times_of_day(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time_of_day(text) if not text.startswith("+") else check_at(text)


@given(st.times().map(lambda t: t.replace(microsecond=0)), instants, zones, st.integers(0, 3 * 86400))
def test_a_time_of_day_is_the_first_such_local_time_at_or_after_the_previous_step(
    tod: time, start_utc: datetime, zone: timezone, later: int
) -> None:
    start = start_utc.astimezone(zone)
    previous = start + timedelta(seconds=later)
    text = tod.strftime("%H:%M:%S")
    when = resolve_at(text, start, previous)
    assert previous <= when < previous + timedelta(days=1)
    local = when.astimezone(zone)
    assert local.time() == tod
    assert local.utcoffset() == start.utcoffset()


@given(offsets, instants)
def test_an_offset_counts_from_the_start_whatever_the_previous_step(
    delta: timedelta, start: datetime
) -> None:
    assert resolve_at(format_offset(delta), start, start + timedelta(days=400)) == start + delta
