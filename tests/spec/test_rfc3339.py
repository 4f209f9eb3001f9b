"""RFC 3339 as spec §5.1 profiles it: the models and the schemas' format checker agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dhi.models import StateReport
from dhi.models.common import is_rfc3339
from dhi.validate import validate

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC) | OFFSETS
)


def state(time: object) -> dict[str, object]:
    return {"component": "main", "capability": "dhi.on_off", "properties": {"on": True}, "time": time}


@settings(deadline=None)  # the first example loads every schema
@given(INSTANTS, st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_every_aware_datetime_written_with_an_offset_is_accepted(t: datetime, spec: str) -> None:
    text = t.isoformat(timespec=spec)
    assert is_rfc3339(text)
    assert is_rfc3339(text.replace("+00:00", "Z"))
    assert validate(state(text), "state")[1] == []
    assert StateReport.model_validate(state(text)).time == datetime.fromisoformat(text)


@given(INSTANTS)
def test_loose_iso_8601_forms_are_refused(t: datetime) -> None:
    text = t.isoformat(timespec="seconds")
    loose = [
        text[:-3] + text[-2:],  # +0800: no colon in the offset
        text.replace("T", " "),
        text[:19],  # no offset
        text[:16] + text[19:],  # no seconds
        str(int(t.timestamp())),  # an epoch number as a string
        text.replace("T", "t"),
    ]
    for bad in loose:
        assert not is_rfc3339(bad), bad


@pytest.mark.parametrize(
    "bad", ["1700000000", "2026-03-01T08:15:00+0800", "2026-02-30T00:00:00Z", "2026-03-01"]
)
def test_the_schemas_and_the_models_refuse_the_same_times(bad: str) -> None:
    _, problems = validate(state(bad), "state")
    assert [p.path for p in problems] == ["$.time"]
    assert "date-time" in problems[0].message
    with pytest.raises(ValidationError):
        StateReport.model_validate(state(bad))
