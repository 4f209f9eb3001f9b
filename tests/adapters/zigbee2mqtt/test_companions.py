"""``_as_json_type``: a companion value becomes the declared JSON type only when that is
exact; anything else is passed on unchanged for the hub's precise payload check."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.zigbee2mqtt.bridge import _as_json_type

scalars = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.integers(-(10**6), 10**6).map(str) | st.floats(allow_nan=False).map(str)
)  # fmt: skip


@given(scalars, st.sampled_from(["string", "integer", "number", "boolean", None]))
def test_converts_only_exactly(value: Any, declared: str | None) -> None:
    out = _as_json_type(value, declared)
    if out is value or (out == value and type(out) is type(value)):
        return  # left as it was
    if declared == "string":
        assert isinstance(out, str) and not isinstance(value, bool)
        assert float(out) == value
    elif declared == "integer":
        assert type(out) is int
        assert float(out) == float(value)
    elif declared == "number":
        assert type(out) is float and isinstance(value, str)
        assert out == float(value) or out != out
    else:
        raise AssertionError(f"{value!r} changed to {out!r} for {declared}")
