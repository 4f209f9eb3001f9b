"""The example platform keeps the newest state of an alert, whatever order messages arrive in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.community_platform.store import Store

ids = itertools.count()

instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])


def message(t: datetime, state: str, text: str) -> dict[str, object]:
    return {
        "source": "dhome://flat-12",
        "type": "org.dhi.v1.alert.updated",
        "time": text,
        "data": {"alert": {"id": "fall-1", "kind": "fall", "state": state}},
    }


def rfc3339(t: datetime, tz: timezone, whole_seconds: bool) -> str:
    local = t.astimezone(tz)
    text = local.isoformat(timespec="seconds" if whole_seconds else "microseconds")
    return text.replace("+00:00", "Z")


@settings(max_examples=60, deadline=None)
@given(
    first=instants,
    delta=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(hours=2)),
    tz_a=offsets,
    tz_b=offsets,
    whole_a=st.booleans(),
    newest_first=st.booleans(),
)
def test_the_newer_message_wins_in_any_order(
    tmp_path_factory: pytest.TempPathFactory,
    first: datetime,
    delta: timedelta,
    tz_a: timezone,
    tz_b: timezone,
    whole_a: bool,
    newest_first: bool,
) -> None:
    older_t = first.replace(microsecond=0) if whole_a else first
    newer_t = older_t + delta
    older = message(older_t, "active", rfc3339(older_t, tz_a, whole_a))
    newer = message(newer_t, "acknowledged", rfc3339(newer_t, tz_b, False))
    store = Store(tmp_path_factory.mktemp("platform") / "p.db")
    try:
        for msg in [newer, older] if newest_first else [older, newer]:
            store.receive(f"m{next(ids)}", msg)
        shown = store.alert("flat-12", "fall-1")
        assert shown is not None and shown["state"] == "acknowledged"
    finally:
        store.close()


def test_whole_second_time_then_fraction_of_the_same_second(tmp_path: Path) -> None:
    """The case that broke: "...:20Z" then "...:20.395860Z" (the later one) as text sorts first."""
    store = Store(tmp_path / "p.db")
    store.receive("a", message(datetime.now(UTC), "active", "2026-01-14T23:00:20Z"))
    store.receive("b", message(datetime.now(UTC), "acknowledged", "2026-01-14T23:00:20.395860Z"))
    shown = store.alert("flat-12", "fall-1")
    assert shown is not None and shown["state"] == "acknowledged"
    store.close()
