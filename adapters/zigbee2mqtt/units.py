"""Zigbee2MQTT unit strings -> UCUM units, in one table (DESIGN §3 "Units").

Zigbee2MQTT units are free vendor strings (``°C``, ``kWh``, ``sec``, ``µg/m³`` …). Each row
says what UCUM unit a string *is* and how it relates to the base unit of its quantity
(``base = value * factor + offset``, or ``factor / value`` for reciprocal units such as
mired). Conversion between any two units of one quantity goes through the base, so the
mapping can land a vendor value in whatever unit the catalog property (or units.yaml)
uses. A string not in the table is not a unit this module understands: the value stays a
vendor property without a unit and the original string is kept in its description.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from adapters.sdk.convert import ConversionError, Converter, identity


@dataclass(frozen=True)
class Unit:
    """A unit of one quantity: its UCUM symbol (``None`` when UCUM has none, e.g. "10 ms")
    and how a value in it becomes a value in ``base``."""

    symbol: str | None
    base: str
    factor: float = 1.0
    offset: float = 0.0
    reciprocal: bool = False

    def to_base(self, v: float) -> float:
        if self.reciprocal:
            if v == 0:
                raise ConversionError("a reciprocal unit cannot convert 0")
            return self.factor / v
        return v * self.factor + self.offset

    def from_base(self, v: float) -> float:
        if self.reciprocal:
            if v == 0:
                raise ConversionError("a reciprocal unit cannot convert 0")
            return self.factor / v
        return (v - self.offset) / self.factor


@dataclass(frozen=True)
class UnitRow:
    """All the spellings Zigbee2MQTT definitions use for one unit."""

    spellings: tuple[str, ...]
    unit: Unit


_CEL = "Cel"
_F_TO_C = 5 / 9

#: The one table: z2m unit spellings -> unit. Spellings are matched after trimming spaces.
UNIT_TABLE: list[UnitRow] = [
    # temperature
    UnitRow(("°C", "℃", "ºC", "C", "Cel"), Unit(_CEL, _CEL)),
    UnitRow(("°F", "℉", "F"), Unit("[degF]", _CEL, _F_TO_C, -32 * _F_TO_C)),
    UnitRow(("K",), Unit("K", "K")),
    # colour temperature: mired = 10^6 / kelvin
    UnitRow(("mired", "mireds"), Unit(None, "K", 1_000_000, reciprocal=True)),
    # ratios
    # ratios share the base "1" so a % power factor lands in a unity-scaled catalog property
    UnitRow(("%",), Unit("%", "1", 0.01)),
    UnitRow(("1",), Unit("1", "1")),
    UnitRow(("‰",), Unit("[ppth]", "1", 0.001)),
    UnitRow(("ppm", "[ppm]"), Unit("[ppm]", "[ppm]")),
    UnitRow(("Bq/m³", "Bq/m3"), Unit("Bq/m3", "Bq/m3")),
    UnitRow(("ppb", "[ppb]"), Unit("[ppb]", "[ppm]", 0.001)),
    # light
    UnitRow(("lx", "lux", "Lx", "LUX"), Unit("lx", "lx")),
    # electricity
    UnitRow(("W", "w", "watt", "Watt"), Unit("W", "W")),
    UnitRow(("kW",), Unit("kW", "W", 1000)),
    UnitRow(("mW", "mWt"), Unit("mW", "W", 0.001)),
    UnitRow(("kWh", "kW.h"), Unit("kW.h", "kW.h")),
    UnitRow(("Wh", "W.h"), Unit("W.h", "kW.h", 0.001)),
    UnitRow(("V", "volt", "Volt"), Unit("V", "V")),
    UnitRow(("mV",), Unit("mV", "V", 0.001)),
    UnitRow(("A",), Unit("A", "A")),
    UnitRow(("mA",), Unit("mA", "A", 0.001)),
    UnitRow(("VA", "V.A"), Unit("VA", "VA")),
    UnitRow(("kVA",), Unit("kV.A", "VA", 1000)),
    UnitRow(("VAR", "VAr", "var", "Var"), Unit("var", "var")),
    UnitRow(("kVAr", "kvar"), Unit("kvar", "var", 1000)),
    UnitRow(("VArh", "varh"), Unit("var.h", "var.h")),
    UnitRow(("kVArh", "kvarh"), Unit("kvar.h", "var.h", 1000)),
    UnitRow(("Hz",), Unit("Hz", "Hz")),
    # time
    UnitRow(("s", "sec", "sec.", "Sec", "seconds", "Seconds", "second"), Unit("s", "s")),
    UnitRow(("ms",), Unit("ms", "s", 0.001)),
    UnitRow(("10 ms",), Unit(None, "s", 0.01)),
    UnitRow(("10s",), Unit(None, "s", 10)),
    UnitRow(("min", "min.", "minute", "minutes", "Minutes"), Unit("min", "s", 60)),
    UnitRow(("h", "Hr", "hour", "hours", "Hours"), Unit("h", "s", 3600)),
    UnitRow(("d", "day", "days", "Day"), Unit("d", "s", 86400)),
    UnitRow(("month",), Unit("mo", "s", 2_629_800)),
    UnitRow(("year",), Unit("a", "s", 31_557_600)),
    # pressure
    UnitRow(("Pa",), Unit("Pa", "Pa")),
    UnitRow(("hPa", "mbar"), Unit("hPa", "Pa", 100)),
    UnitRow(("kPa",), Unit("kPa", "Pa", 1000)),
    UnitRow(("bar",), Unit("bar", "Pa", 100_000)),
    UnitRow(("psi",), Unit("[psi]", "Pa", 6894.757293168361)),
    UnitRow(("hPa/h",), Unit("hPa/h", "hPa/h")),
    # length, speed
    UnitRow(("m", "meters", "metre", "meter"), Unit("m", "m")),
    UnitRow(("cm",), Unit("cm", "m", 0.01)),
    UnitRow(("mm",), Unit("mm", "m", 0.001)),
    UnitRow(("µm", "μm", "um"), Unit("um", "m", 1e-6)),
    UnitRow(("m/s",), Unit("m/s", "m/s")),
    UnitRow(("mm/s",), Unit("mm/s", "m/s", 0.001)),
    UnitRow(("mm/h",), Unit("mm/h", "mm/h")),
    # volume, flow
    UnitRow(("m³", "m3"), Unit("m3", "m3")),
    UnitRow(("L", "l", "liter", "litre", "liters"), Unit("L", "m3", 0.001)),
    UnitRow(("gal",), Unit("[gal_us]", "m3", 0.003785411784)),
    UnitRow(("m³/h", "m3/h"), Unit("m3/h", "m3/h")),
    UnitRow(("L/h", "l/h"), Unit("L/h", "m3/h", 0.001)),
    UnitRow(("L/min", "l/min", "lpm"), Unit("L/min", "m3/h", 0.06)),
    UnitRow(("gal/min",), Unit("[gal_us]/min", "m3/h", 0.003785411784 * 60)),
    # air quality, chemistry
    UnitRow(("µg/m³", "μg/m³", "ug/m3", "µg/m3"), Unit("ug/m3", "ug/m3")),
    UnitRow(("mg/m³", "mg/m3"), Unit("mg/m3", "ug/m3", 1000)),
    UnitRow(("#/cm³", "/cm3"), Unit("/cm3", "/cm3")),
    UnitRow(("mg/L", "mg/l"), Unit("mg/L", "mg/L")),
    UnitRow(("µS/cm", "μS/cm", "uS/cm"), Unit("uS/cm", "uS/cm")),
    UnitRow(("pH",), Unit("[pH]", "[pH]")),
    # mass, angle, rates, signal
    UnitRow(("g",), Unit("g", "g")),
    UnitRow(("kg",), Unit("kg", "g", 1000)),
    UnitRow(("°", "deg"), Unit("deg", "deg")),
    UnitRow(("rpm", "RPM"), Unit("/min", "/min")),
    UnitRow(("breaths/min", "bpm"), Unit("/min", "/min")),
    # z2m uses dB / dBA for noise sensors: sound pressure level
    UnitRow(("dB", "dBA", "dB(A)", "dB[SPL]"), Unit("dB[SPL]", "dB[SPL]")),
    UnitRow(("dBm", "dB[mW]"), Unit("dB[mW]", "dB[mW]")),
]

_BY_SPELLING: dict[str, Unit] = {s: row.unit for row in UNIT_TABLE for s in row.spellings}
_BY_SYMBOL: dict[str, Unit] = {}
for _row in UNIT_TABLE:
    if _row.unit.symbol is not None:
        _BY_SYMBOL.setdefault(_row.unit.symbol, _row.unit)
    _BY_SYMBOL.setdefault(_row.unit.base, Unit(_row.unit.base, _row.unit.base))


def lookup(z2m_unit: str | None) -> Unit | None:
    """The unit a Zigbee2MQTT unit string denotes, or ``None`` if it is not in the table."""
    if z2m_unit is None:
        return None
    return _BY_SPELLING.get(z2m_unit.strip())


def unit_for_symbol(symbol: str) -> Unit | None:
    return _BY_SYMBOL.get(symbol)


def _tidy(v: float) -> float | int:
    # 12 significant digits removes binary noise (0.1 * 3) without losing sensor precision.
    if not math.isfinite(v):
        raise ConversionError("conversion produced a non-finite number")
    out = float(f"{v:.12g}")
    return int(out) if out.is_integer() and abs(out) < 2**53 else out


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConversionError(f"expected a number, got {type(v).__name__}")
    if not math.isfinite(v):
        raise ConversionError("expected a finite number")
    return float(v)


def converter(src: Unit, dst: Unit) -> Converter | None:
    """vendor value in ``src`` <-> value in ``dst``; ``None`` if the quantities differ."""
    if src.base != dst.base:
        return None
    if src == dst or (src.symbol is not None and src.symbol == dst.symbol):
        return identity

    def to_hub(v: Any) -> Any:
        return _tidy(dst.from_base(src.to_base(_number(v))))

    def from_hub(v: Any) -> Any:
        return _tidy(src.from_base(dst.to_base(_number(v))))

    return Converter(to_hub, from_hub, f"unit({src.symbol or src.base}->{dst.symbol})")


@dataclass(frozen=True)
class Resolved:
    """Where a vendor number lands: the UCUM unit (or none) and the converter into it."""

    ucum: str | None
    convert: Converter
    #: the vendor string, when it could not be expressed in a known UCUM unit
    vendor_unit: str | None = None


def resolve(z2m_unit: str | None, known: Collection[str]) -> Resolved:
    """Pick the UCUM unit for a vendor property: the unit itself if ``known`` (units.yaml)
    has it, else the base unit of its quantity; unknown strings stay in the description."""
    printable = "".join(ch for ch in z2m_unit or "" if ch.isprintable()).strip()
    if not printable:
        return Resolved(None, identity)
    unit = lookup(printable)
    if unit is None:
        return Resolved(None, identity, printable)
    # the unit itself, else the base of its quantity, else another unit of that quantity that
    # units.yaml has (bar -> hPa when Pa is not listed)
    siblings = sorted(sym for sym, u in _BY_SYMBOL.items() if u.base == unit.base and sym in known)
    for symbol in (unit.symbol, unit.base, *siblings):
        if symbol is not None and symbol in known:
            target = unit_for_symbol(symbol) or Unit(symbol, unit.base)
            conv = converter(unit, target)
            if conv is not None:
                return Resolved(symbol, conv)
    return Resolved(None, identity, printable)


def to_catalog_unit(z2m_unit: str | None, catalog_unit: str | None) -> Converter | None:
    """Converter from a vendor unit into a catalog property's unit, or ``None`` if the two
    measure different things. No unit on either side means "same dimensionless scale"."""
    if catalog_unit is None:
        return identity if z2m_unit is None or lookup(z2m_unit) is None else None
    target = unit_for_symbol(catalog_unit)
    if z2m_unit is None or not z2m_unit.strip():
        # Many definitions omit the unit of a well-known quantity (illuminance, pressure):
        # the catalog row decides whether that is acceptable by naming an assumed unit.
        return None
    src = lookup(z2m_unit)
    if src is None or target is None:
        return None
    return converter(src, target)


def range_through(conv: Converter, lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    """Convert a vendor range; a decreasing conversion (mired -> K) swaps the ends. An end that
    does not convert (0 mired: infinitely many K) is no bound, and a range around such a pole
    (-1..1 mired) bounds nothing: a missing bound is honest, a wrong one rejects real values."""
    if (lo is None or lo < 0) and (hi is None or hi > 0) and _at(conv, 0.0) is None:
        return None, None
    a, b = _at(conv, lo), _at(conv, hi)
    if _decreasing(conv):
        a, b = b, a
    if a is not None and b is not None and a > b:  # a vendor range given upside down
        a, b = b, a
    return a, b


def _at(conv: Converter, v: float | None) -> float | None:
    try:
        return conv(v) if v is not None else None
    except ConversionError:
        return None


def _decreasing(conv: Converter) -> bool:
    a, b = _at(conv, 1.0), _at(conv, 2.0)
    return a is not None and b is not None and b < a
