"""Property tests of the SDK converters and mapping rows: both directions agree."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.sdk import bool_map, enum_map, kelvin_from_mireds, linear, scale
from adapters.sdk.convert import ConversionError

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(value=st.integers(min_value=-32768, max_value=32767))
def test_centi_degrees_round_trip(value: int) -> None:
    conv = scale(0.01)
    assert math.isclose(conv.back(conv(value)), value, abs_tol=1e-6)


@given(raw=st.integers(min_value=0, max_value=254))
def test_levels_map_into_percent_and_back_within_one_step(raw: int) -> None:
    conv = linear((0, 254), (0, 100))
    pct = conv(raw)
    assert 0 <= pct <= 100
    assert abs(conv.back(pct) - raw) <= 1
    assert conv(0) == 0 and conv(254) == 100


@given(pct=finite)
def test_linear_back_is_clamped_to_the_vendor_range(pct: float) -> None:
    assert 0 <= linear((0, 254), (0, 100)).back(pct) <= 254


@given(mireds=st.integers(min_value=1, max_value=1_000_000))
def test_mireds_and_kelvin_are_their_own_inverse(mireds: int) -> None:
    kelvin = kelvin_from_mireds(mireds)
    assert kelvin > 0
    back = kelvin_from_mireds.back(kelvin)
    assert abs(1_000_000 / back - 1_000_000 / mireds) <= 1_000_000 / mireds * 0.01 + 1


@pytest.mark.parametrize("bad", [0, -5, "153", None, True])
def test_mireds_rejects_nonsense(bad: Any) -> None:
    with pytest.raises(ConversionError):
        kelvin_from_mireds(bad)


@given(mapping=st.dictionaries(st.text(min_size=1), st.integers(), min_size=1))
def test_enum_map_round_trips_every_member(mapping: dict[str, int]) -> None:
    conv = enum_map(mapping)
    for key, val in mapping.items():
        assert conv(key) == val
        assert conv(conv.back(val)) == val


@given(value=st.one_of(st.text(), st.integers(), st.none(), st.lists(st.integers())))
def test_enum_map_unknown_values_are_conversion_errors_not_crashes(value: Any) -> None:
    conv = bool_map("ON", "OFF")
    if value in ("ON", "OFF"):
        assert conv(value) is (value == "ON")
    else:
        with pytest.raises(ConversionError):
            conv(value)
