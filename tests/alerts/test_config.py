"""The ``alerts:`` config: defaults, durations and times people write, clear errors."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.alerts.config import AlertsConfig
from hub.alerts.durations import format_duration, parse_duration, parse_time_of_day


def test_defaults_are_a_working_setup() -> None:
    cfg = AlertsConfig()
    assert cfg.enabled and cfg.rules.smoke.enabled and cfg.subscriptions == []
    assert [w.max_quiet for w in cfg.rules.inactivity.windows] == [timedelta(hours=12), timedelta(hours=14)]
    assert cfg.escalation.interval(cfg.rules.smoke.severity or "Extreme") == timedelta(minutes=2)  # type: ignore[arg-type]


def test_yaml_as_people_write_it() -> None:
    text = """
    rules:
      inactivity:
        windows:
          - {start: "07:00", end: "21:30", max_quiet: 8h}
      door_open: {max_open: "00:20:00", rooms: [hallway]}
    escalation: {after: {Extreme: 90}}
    """
    cfg = AlertsConfig.model_validate(yaml.safe_load(text))
    [w] = cfg.rules.inactivity.windows
    assert (w.start, w.end, w.max_quiet) == (time(7), time(21, 30), timedelta(hours=8))
    assert cfg.rules.door_open.max_open == timedelta(minutes=20)
    assert cfg.escalation.after["Extreme"] == timedelta(seconds=90)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {inactivity: {windows: [{start: 7:30, end: '21:00', max_quiet: 8h}]}}", "quote times"),
        ("rules: {door_open: {max_open: soon}}", "not a duration"),
        ("rules: {smoke: {enabeld: false}}", "Extra inputs"),
        ("rules: {inactivity: {windows: []}}", "at least 1"),
        ("outbox: {base_delay: 10, max_delay: 5}", "base_delay is greater"),
        (
            "subscriptions: [{id: a, receiver: {name: x}, transport: webhook, endpoint: 'http://x', alert_kinds: [smoke]},"
            " {id: a, receiver: {name: y}, transport: webhook, endpoint: 'http://y', alert_kinds: [fire]}]",
            "alert_kinds",
        ),
    ],
)
def test_mistakes_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertsConfig.model_validate(yaml.safe_load(text))


@given(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9000)).map(
        lambda d: timedelta(seconds=int(d.total_seconds()))
    )
)
def test_durations_round_trip(d: timedelta) -> None:
    assert parse_duration(format_duration(d)) == d


@given(st.times().map(lambda t: t.replace(microsecond=0)))
def test_times_of_day_round_trip(t: time) -> None:
    assert parse_time_of_day(t.strftime("%H:%M:%S")) == t


@given(st.text(max_size=12))
def test_any_text_is_a_duration_or_a_clear_error(text: str) -> None:
    try:
        d = parse_duration(text)
    except ValueError as exc:
        assert "duration" in str(exc)
    else:
        assert d >= timedelta(0)
