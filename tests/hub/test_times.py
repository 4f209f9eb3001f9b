"""Times in reports: RFC 3339 text only, and representable in UTC. A bad time is an invalid
report (counted, one throttled warning per device), never a traceback per message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dhi.models.state import EventReport, StateReport
from tests.alerts.support import SMOKE, running_home

FAR_EAST = timezone(timedelta(hours=23, minutes=59))


def report(time: Any) -> dict[str, Any]:
    return {"component": "main", "capability": "dhi.smoke_alarm", "properties": {"smoke": True}, "time": time}


@pytest.mark.parametrize(
    ("time", "why"),
    [
        ("0001-01-01T00:00:00+23:59", "out of range"),
        ("9999-12-31T23:59:59-23:59", "out of range"),
        (-1, "RFC 3339 string"),
        (1767225600, "RFC 3339 string"),
        (True, "RFC 3339 string"),
        ("2026-01-01T00:00:00", "not an RFC 3339 date-time"),
    ],
)
def test_bad_times_are_invalid_reports_with_the_reason(time: Any, why: str) -> None:
    with pytest.raises(ValidationError) as err:
        StateReport.model_validate(report(time))
    assert err.value.errors()[0]["loc"] == ("time",) and why in str(err.value)


@given(st.datetimes(timezones=st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23)))))
def test_any_parsed_time_has_a_utc_equivalent(when: datetime) -> None:
    try:
        parsed = EventReport.model_validate(
            {"component": "main", "capability": "dhi.sos", "event": "pressed", "time": when.isoformat()}
        ).time
    except ValidationError:
        return  # refused with a reason: fine; an OverflowError escaping is not
    assert parsed is not None and parsed.astimezone(UTC) == when


async def test_an_unrepresentable_time_from_an_adapter_is_counted_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_home(tmp_path) as home:
        home.add(SMOKE)
        with caplog.at_level(logging.WARNING):
            results = [
                home.ctx.publish_state(SMOKE.id, "dhi.smoke_alarm", {"smoke": True}, time=datetime(1, 1, 1, tzinfo=FAR_EAST))
                for _ in range(500)
            ]  # fmt: skip
        assert not any(results)
        assert home.ctx.invalid_count == 500
        lines = [r for r in caplog.records if "out of range" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
        assert home.hub.state.get(SMOKE.id, "main", "dhi.smoke_alarm", "smoke") is None
