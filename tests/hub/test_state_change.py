"""``StateChange``: the bus record of a state change reads, serialises and materialises
exactly like the ``StateChangedMessage`` envelope it stands for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from dhi.models.envelope import StateChange, StateChangeData, StateChangedMessage, as_envelope, wire_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))]),
)  # fmt: skip


@given(
    json_values,
    json_values,
    times,
    st.none() | st.integers(0, 2**40),
    st.none() | st.text(min_size=1, max_size=8),
    st.sampled_from([None, True]),
)
def test_wire_json_is_the_envelope_json(value: object, previous: object, time: datetime, seq: int | None,
                                        source: str | None, drill: bool | None) -> None:  # fmt: skip
    change = StateChange(
        "dhome://home/z:1",
        time,
        StateChangeData("z:1", "main", "dhi.level", "level", value, previous, source),
    )
    change.seq = seq
    change.drill = drill
    envelope = as_envelope(change)
    assert isinstance(envelope, StateChangedMessage)
    assert (envelope.id, envelope.seq, envelope.time, envelope.data.value, envelope.drill) == (
        change.id,
        seq,
        time,
        value,
        drill,
    )
    assert wire_json(change) == envelope.model_dump_json(by_alias=True, exclude_none=True)
    assert orjson.loads(wire_json(change))["time"] == orjson.loads(envelope.model_dump_json())["time"]
    assert as_envelope(change) is envelope  # built once


def test_integers_beyond_64_bits_still_serialise() -> None:
    change = StateChange(
        "dhome://home/z:1",
        datetime.now(UTC),
        StateChangeData("z:1", "main", "x.acme.big", "n", 2**70, None, None),
    )
    assert orjson.loads(wire_json(change))["data"]["value"] == 2**70
