"""Matter value encodings <-> DHI units (Matter Application Cluster Library).

Every converter here is nullable-aware: Matter marks many attributes *nullable* and the
server sends ``null`` for "unknown" — that stays ``None`` (DHI nullable properties), it is
never turned into 0. ``to_hub`` raises :class:`ConversionError` on values outside the
encoding (wrong type, out of the attribute's range), and ``back`` always yields the
integer the Matter attribute or command field expects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from adapters.sdk.convert import ConversionError, Converter


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConversionError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ConversionError(f"expected a finite number, got {value}")
    return float(value)


def check_number(value: Any) -> float:
    """A finite int or float (never a bool)."""
    return _num(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConversionError(f"expected an integer, got {type(value).__name__}")
    return value


def _check(value: float, lo: float | None, hi: float | None, what: str) -> None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConversionError(
            f"{what} {value:g} is outside {lo if lo is not None else ''}..{hi if hi is not None else ''}"
        )


def nullable(conv: Converter) -> Converter:
    """``None`` passes through both ways (Matter null = DHI null)."""

    def back(v: Any) -> Any:
        return None if v is None else conv.back(v)

    return Converter(
        lambda v: None if v is None else conv.to_hub(v),
        back if conv.from_hub is not None else None,
        f"nullable({conv.name})",
    )


def scaled(
    factor: float,
    *,
    digits: int,
    vendor_range: tuple[float | None, float | None] = (None, None),
    name: str | None = None,
) -> Converter:
    """DHI = Matter integer * ``factor`` (centi-degrees: 0.01, mV -> V: 0.001); back rounds to int."""
    lo, hi = vendor_range

    def to_hub(v: Any) -> Any:
        n = _num(v)
        _check(n, lo, hi, "value")
        out = round(n * factor, digits)
        return int(out) if digits <= 0 else out

    def from_hub(v: Any) -> int:
        exact = _num(v) / factor
        if not math.isfinite(exact):
            raise ConversionError(f"{v!r} is too large to encode")
        raw = round(exact)
        _check(raw, lo, hi, "encoded value")
        return raw

    return nullable(Converter(to_hub, from_hub, name or f"scaled({factor})"))


INT16: Final = (-32768.0, 32767.0)
# Measured values: the most negative int16 is the "invalid/null" marker in the spec.
SIGNED_MEASURED: Final = (-32767.0, 32767.0)

#: centi-degrees Celsius (Temperature Measurement, Thermostat setpoints) -> Cel
CENTI_CELSIUS: Final = scaled(0.01, digits=2, vendor_range=SIGNED_MEASURED, name="centi_celsius")
#: centi-percent (Relative Humidity, 0..10000) -> %
CENTI_PERCENT: Final = scaled(0.01, digits=2, vendor_range=(0, 10000), name="centi_percent")
#: Pressure MeasuredValue is in 0.1 kPa, which is exactly 1 hPa
HECTOPASCAL: Final = scaled(1, digits=0, vendor_range=SIGNED_MEASURED, name="hectopascal")
#: Flow MeasuredValue is in 0.1 m3/h
DECI_M3_PER_H: Final = scaled(0.1, digits=1, vendor_range=(0, 65534), name="deci_m3_per_h")
#: milli-units (mV, mA, mW, mHz) -> base unit
MILLI: Final = scaled(0.001, digits=3, name="milli")
#: Power Source BatPercentRemaining counts half-percent (0..200)
HALF_PERCENT: Final = scaled(0.5, digits=1, vendor_range=(0, 200), name="half_percent")
#: tenths of a second (transition times) -> s
DECI_SECONDS: Final = scaled(0.1, digits=1, vendor_range=(0, 65535), name="deci_seconds")
#: Thermostat SetpointRaiseLower amount: int8 steps of 0.1 °C
DECI_CELSIUS_STEP: Final = scaled(0.1, digits=1, vendor_range=(-128, 127), name="deci_celsius_step")
#: Power factor is reported in 1/100
CENTI_RATIO: Final = scaled(0.01, digits=2, vendor_range=(-100, 100), name="centi_ratio")
#: Window Covering positions in 1/100 %, 0 = fully open
PERCENT100THS: Final = scaled(0.01, digits=2, vendor_range=(0, 10000), name="percent100ths")
#: plain unit-for-unit value (already in the DHI unit)
SAME: Final = scaled(1, digits=6, name="same")


def level_percent(max_level: int = 254) -> Converter:
    """Level Control 0..254 -> 0..100 % (1 decimal); back rounds to the nearest step."""

    def to_hub(v: Any) -> float:
        n = _int(v)
        _check(n, 0, 255, "level")
        return round(min(n, max_level) * 100 / max_level, 1)

    def from_hub(v: Any) -> int:
        pct = _num(v)
        _check(pct, 0, 100, "level %")
        return round(pct * max_level / 100)

    return nullable(Converter(to_hub, from_hub, "level_percent"))


LEVEL: Final = level_percent()


KELVIN_RANGE: Final = (1000, 20000)  # the DHI catalog's colour temperature range
MIREDS_UNSPECIFIED: Final = 0xFEFF  # physical limits "not specified" (and the attribute maximum)


def _kelvin(v: Any) -> int | None:
    n = _int(v)  # mireds are a uint16
    if n <= 0 or n >= MIREDS_UNSPECIFIED:
        # 0 is no colour temperature (the light is in a hue/xy colour mode); 0xFEFF means
        # "not specified" for the physical limits
        return None
    lo, hi = KELVIN_RANGE
    return min(hi, max(lo, round(1_000_000 / n)))


def _mireds(v: Any) -> int:
    k = _num(v)
    if k <= 0:
        raise ConversionError(f"colour temperature must be positive, got {k:g} K")
    return min(MIREDS_UNSPECIFIED - 1, max(1, round(1_000_000 / k)))


#: mireds <-> kelvin, limited to the catalog's 1000..20000 K
MIREDS_KELVIN: Final = nullable(Converter(_kelvin, _mireds, "mireds_kelvin"))


def _lux(v: Any) -> float:
    n = _int(v)
    _check(n, 0, 0xFFFE, "illuminance")
    if n == 0:
        return 0.0  # 0 means "too low to be measured"
    return round(10 ** ((n - 1) / 10000), 1)


def _lux_back(v: Any) -> int:
    lx = _num(v)
    if lx < 0:
        raise ConversionError(f"illuminance must not be negative, got {lx:g}")
    if lx == 0:
        return 0
    return min(0xFFFE, max(1, round(10000 * math.log10(lx) + 1)))


#: Illuminance MeasuredValue = 10000 * log10(lx) + 1
LUX: Final = nullable(Converter(_lux, _lux_back, "illuminance_log"))

#: Color Control hue 0..254 -> 0..360 deg, saturation 0..254 -> %
HUE: Final = nullable(
    Converter(
        lambda v: round(check_int(v, 0, 254) * 360 / 254, 1),
        lambda v: min(254, max(0, round(_num(v) * 254 / 360))),
        "hue",
    )
)
SATURATION: Final = nullable(
    Converter(
        lambda v: round(check_int(v, 0, 254) * 100 / 254, 1),
        lambda v: min(254, max(0, round(_num(v) * 254 / 100))),
        "saturation",
    )
)
#: CIE x/y coordinates are 0..65279 in units of 1/65536
CIE: Final = nullable(
    Converter(
        lambda v: round(check_int(v, 0, 0xFEFF) / 65536, 4),
        lambda v: min(0xFEFF, max(0, round(_num(v) * 65536))),
        "cie_xy",
    )
)


def check_int(v: Any, lo: int, hi: int) -> int:
    n = _int(v)
    _check(n, lo, hi, "value")
    return n


def boolean(*, invert: bool = False) -> Converter:
    def conv(v: Any) -> bool:
        if not isinstance(v, bool):
            raise ConversionError(f"expected a boolean, got {type(v).__name__}")
        return v != invert

    return nullable(Converter(conv, conv, "not" if invert else "boolean"))


BOOL: Final = boolean()
NOT: Final = boolean(invert=True)


def _int_back(v: Any) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return _int(v)


def uint(lo: int = 0, hi: int = 2**64 - 1) -> Converter:
    """A plain integer attribute within its Matter range (counts, seconds, indexes)."""

    def back(v: Any) -> int:
        n = _int_back(v)
        _check(n, lo, hi, "value")
        return n

    return nullable(Converter(lambda v: check_int(v, lo, hi), back, f"uint({lo},{hi})"))


INT: Final = uint()


def bit(mask: int) -> Converter:
    """One bit of a bitmap attribute -> bool (read-only)."""
    return nullable(Converter(lambda v: bool(_int(v) & mask), None, f"bit(0x{mask:x})"))


def nonzero() -> Converter:
    return nullable(Converter(lambda v: _num(v) != 0, None, "nonzero"))


def enum(mapping: Mapping[int, str], *, name: str, unknown: str | None = None) -> Converter:
    """Matter enum -> DHI enum string; values outside the table raise unless ``unknown`` is given."""
    forward = dict(mapping)
    reverse = {v: k for k, v in forward.items()}

    def to_hub(v: Any) -> str:
        n = _int(v)
        if n in forward:
            return forward[n]
        if unknown is not None:
            return unknown
        raise ConversionError(f"{name}: unknown value {n}; known: {sorted(forward)}")

    def from_hub(v: Any) -> int:
        if v not in reverse:
            raise ConversionError(f"{name}: {v!r} is not one of {sorted(reverse)}")
        return reverse[v]

    return nullable(Converter(to_hub, from_hub, name))


def struct_field(tag: str, inner: Converter) -> Converter:
    """A value inside a struct attribute (e.g. Electrical Energy's ``{"0": mWh, …}``)."""

    def to_hub(v: Any) -> Any:
        if not isinstance(v, dict):
            raise ConversionError(f"expected a struct object, got {type(v).__name__}")
        return inner.to_hub(v.get(tag))

    return nullable(Converter(to_hub, None, f"field({tag},{inner.name})"))


#: Electrical Energy Measurement: EnergyMeasurementStruct field 0 is energy in mWh
ENERGY_KWH: Final = struct_field("0", scaled(1e-6, digits=6, name="mwh_to_kwh"))


def derived(fn: Callable[[Any], Any], name: str) -> Converter:
    """A read-only value computed from the raw attribute (bitmaps to enums, …)."""
    return nullable(Converter(fn, None, name))


# ------------------------------------------------ concentration measurement clusters
# MeasurementUnitEnum of the *Concentration Measurement clusters (ACL 2.10.5.3).
PPM, PPB, PPT, MGM3, UGM3, NGM3, PM3, BQM3 = range(8)
_FACTORS: Final[dict[str, dict[int, float]]] = {
    # DHI unit -> Matter unit -> factor (only conversions that need no molar mass)
    "[ppm]": {PPM: 1.0, PPB: 1e-3, PPT: 1e-6},
    "ug/m3": {UGM3: 1.0, MGM3: 1e3, NGM3: 1e-3},
    "mg/m3": {MGM3: 1.0, UGM3: 1e-3, NGM3: 1e-6},
    "Bq/m3": {BQM3: 1.0},
}
UNIT_NAMES: Final = {
    PPM: "ppm",
    PPB: "ppb",
    PPT: "ppt",
    MGM3: "mg/m3",
    UGM3: "ug/m3",
    NGM3: "ng/m3",
    PM3: "particles/m3",
    BQM3: "Bq/m3",
}


def concentration(target: str, unit: int) -> Converter | str:
    """Converter from a cluster's MeasurementUnit to the DHI unit, or why there is none."""
    factor = _FACTORS.get(target, {}).get(unit)
    if factor is None:
        got = UNIT_NAMES.get(unit, f"unit {unit}")
        return f"reported in {got}, which cannot be converted to {target} without the gas's molar mass"

    def to_hub(v: Any) -> float:
        n = _num(v)
        if n < 0:
            raise ConversionError(f"concentration must not be negative, got {n:g}")
        return round(n * factor, 6)

    return nullable(
        Converter(to_hub, lambda v: _num(v) / factor, f"concentration({UNIT_NAMES[unit]}->{target})")
    )
