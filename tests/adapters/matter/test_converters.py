"""Property tests of the Matter value converters (ranges, nulls, scale edges, round trips)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.matter import convert as cv
from adapters.matter.mapping import CapBinding, catalog_lookup
from adapters.matter.node import Endpoint
from adapters.matter.rows import OPEN_PERCENT, ROWS
from adapters.matter.schema import Prop, Row
from adapters.sdk.convert import ConversionError
from dhi.catalog import check_value, default_catalog

CATALOG = default_catalog()
LOOKUP = catalog_lookup(CATALOG)

RAW = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 254, 255, 0xFEFF, 0xFFFE, 0xFFFF, -32768, 32767, 2**31, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
    | st.lists(st.integers(0, 3), max_size=2)
    | st.dictionaries(st.sampled_from(["0", "1", "x"]), st.integers(-(2**40), 2**40), max_size=2)
)


def _props() -> list[tuple[Row, Prop]]:
    return [(row, prop) for row in ROWS if row.capability is not None for prop in row.props]


@pytest.mark.parametrize(
    ("row", "prop"), _props(), ids=lambda x: getattr(x, "name", getattr(x, "capability", ""))
)
@settings(max_examples=50, deadline=None)
@given(raw=RAW)
def test_every_converter_refuses_or_yields_the_catalog_type(row: Row, prop: Prop, raw: Any) -> None:
    """Whatever a device sends, a property converter either refuses it (ConversionError) or
    yields null or a value of the catalog property's type (ranges: see the next test)."""
    assert row.capability is not None
    definition = row.definition or CATALOG[row.capability]
    pdef = definition.property(prop.name)
    assert pdef is not None
    try:
        value = prop.convert.to_hub(raw)
    except ConversionError:
        return
    if value is None:
        return
    types: dict[str, Any] = {
        "boolean": bool,
        "integer": int,
        "number": (int, float),
        "string": str,
        "enum": str,
        "array": list,
        "object": dict,
    }
    assert isinstance(value, types[pdef.type.value]), (raw, value)
    assert not (isinstance(value, bool) and pdef.type.value != "boolean"), (raw, value)
    if isinstance(value, float):
        assert math.isfinite(value)
    if pdef.enum:
        assert value in pdef.enum, (raw, value)


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.capability is not None and r.props], ids=lambda r: r.capability
)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_published_state_always_fits_the_catalog(row: Row, data: st.DataObject) -> None:
    """The whole read path (converter + catalog check): out-of-range device values become
    reported errors, and whatever is published passes the hub's validation."""
    values = {p.attribute: data.draw(RAW) for p in row.props}
    values[0xFFFC] = row.features | row.any_features
    ep = Endpoint(1, tuple(row.device_types), {row.cluster: values})
    binding = CapBinding("matter:1", "ep1", 1, row, row.props, {}, (), ())
    published, errors = binding.read_state(ep, LOOKUP)
    assert len(published) + len(errors) <= len(row.props)
    for name, value in published.items():
        pdef = LOOKUP(row.capability or "", name)
        assert pdef is not None
        if value is None:
            assert pdef.nullable
        else:
            check_value(pdef, value, name)


@given(st.integers(-32767, 32767))
def test_centi_celsius_round_trip(raw: int) -> None:
    value = cv.CENTI_CELSIUS.to_hub(raw)
    assert value == pytest.approx(raw / 100)
    assert cv.CENTI_CELSIUS.back(value) == raw


def test_centi_celsius_edges() -> None:
    assert cv.CENTI_CELSIUS.to_hub(2100) == 21.0
    assert cv.CENTI_CELSIUS.to_hub(None) is None
    with pytest.raises(ConversionError):
        cv.CENTI_CELSIUS.to_hub(-32768)  # the int16 "invalid" marker
    with pytest.raises(ConversionError):
        cv.CENTI_CELSIUS.to_hub(True)


@given(st.integers(0, 254))
def test_level_round_trip(raw: int) -> None:
    pct = cv.LEVEL.to_hub(raw)
    assert 0 <= pct <= 100
    assert cv.LEVEL.back(pct) == raw  # 0.1 % resolution is finer than one of 254 steps


@given(st.floats(0, 100))
def test_level_back_stays_in_range(pct: float) -> None:
    raw = cv.LEVEL.back(pct)
    assert isinstance(raw, int) and 0 <= raw <= 254


def test_level_edges() -> None:
    assert cv.LEVEL.to_hub(0) == 0
    assert cv.LEVEL.to_hub(254) == 100
    assert cv.LEVEL.to_hub(255) == 100  # 255 is "unknown" in ZCL: never above 100 %
    assert cv.LEVEL.to_hub(None) is None
    with pytest.raises(ConversionError):
        cv.LEVEL.back(101)


@given(st.integers(50, 1000))
def test_mireds_kelvin(mireds: int) -> None:
    kelvin = cv.MIREDS_KELVIN.to_hub(mireds)
    assert 1000 <= kelvin <= 20000
    assert kelvin == round(1_000_000 / mireds)
    back = cv.MIREDS_KELVIN.back(kelvin)
    assert abs(back - mireds) <= max(1, mireds * mireds / 1_000_000)  # one kelvin step


def test_mireds_edges() -> None:
    assert cv.MIREDS_KELVIN.to_hub(0) is None
    assert cv.MIREDS_KELVIN.to_hub(0xFEFF) is None
    assert cv.MIREDS_KELVIN.to_hub(1) == 20000
    assert cv.MIREDS_KELVIN.to_hub(2000) == 1000
    assert cv.MIREDS_KELVIN.back(2700) == 370
    with pytest.raises(ConversionError):
        cv.MIREDS_KELVIN.back(0)


@given(st.integers(1, 0xFFFE))
def test_illuminance_round_trip(raw: int) -> None:
    lux = cv.LUX.to_hub(raw)
    assert lux == pytest.approx(10 ** ((raw - 1) / 10000), rel=1e-3, abs=0.05)
    # the 0.1 lx rounding is the only loss on the way back
    assert abs(cv.LUX.to_hub(cv.LUX.back(lux)) - lux) <= 0.1 + lux * 1e-3


def test_illuminance_edges() -> None:
    assert cv.LUX.to_hub(0) == 0
    assert cv.LUX.to_hub(1) == 1.0
    assert cv.LUX.to_hub(10001) == 10.0
    assert cv.LUX.back(0) == 0
    with pytest.raises(ConversionError):
        cv.LUX.to_hub(0xFFFF)


@given(st.integers(0, 200))
def test_half_percent(raw: int) -> None:
    assert cv.HALF_PERCENT.to_hub(raw) == raw / 2
    assert cv.HALF_PERCENT.back(raw / 2) == raw


@given(st.integers(-(2**31), 2**31))
def test_milli_units(raw: int) -> None:
    assert cv.MILLI.to_hub(raw) == pytest.approx(raw / 1000)
    assert cv.MILLI.back(cv.MILLI.to_hub(raw)) == raw


@given(st.integers(0, 2**62))
def test_energy_mwh_to_kwh(mwh: int) -> None:
    assert cv.ENERGY_KWH.to_hub({"0": mwh, "1": 5}) == pytest.approx(mwh / 1e6)
    assert cv.ENERGY_KWH.to_hub(None) is None


@given(st.integers(0, 10000))
def test_window_covering_open_percent(raw: int) -> None:
    pct = OPEN_PERCENT.to_hub(raw)
    assert 0 <= pct <= 100
    assert math.isclose(pct, 100 - raw / 100, abs_tol=1e-9)
    assert OPEN_PERCENT.back(pct) == raw


@given(st.integers(0, 254), st.integers(0, 254))
def test_hue_saturation(hue: int, sat: int) -> None:
    assert 0 <= cv.HUE.to_hub(hue) <= 360
    assert cv.HUE.back(cv.HUE.to_hub(hue)) == hue
    assert cv.SATURATION.back(cv.SATURATION.to_hub(sat)) == sat


@given(st.integers(0, 0xFEFF))
def test_cie(raw: int) -> None:
    assert 0 <= cv.CIE.to_hub(raw) <= 1
    assert abs(cv.CIE.back(cv.CIE.to_hub(raw)) - raw) <= 4  # 4 decimals of 1/65536 steps


@pytest.mark.parametrize(
    ("target", "unit", "raw", "expected"),
    [
        ("[ppm]", cv.PPM, 412.0, 412.0),
        ("[ppm]", cv.PPB, 412.0, 0.412),
        ("ug/m3", cv.MGM3, 0.012, 12.0),
        ("mg/m3", cv.UGM3, 80.0, 0.08),
    ],
)
def test_concentration_units(target: str, unit: int, raw: float, expected: float) -> None:
    conv = cv.concentration(target, unit)
    assert not isinstance(conv, str)
    assert conv.to_hub(raw) == pytest.approx(expected)
    assert conv.to_hub(None) is None


def test_concentration_needs_molar_mass() -> None:
    reason = cv.concentration("[ppm]", cv.UGM3)
    assert isinstance(reason, str) and "molar mass" in reason


@given(
    st.sampled_from(
        [c for c in (cv.CENTI_CELSIUS, cv.CENTI_PERCENT, cv.LEVEL, cv.LUX, cv.MILLI, cv.HALF_PERCENT)]
    )
)
def test_null_passes_both_ways(conv: Any) -> None:
    assert conv.to_hub(None) is None
    assert conv.back(None) is None
