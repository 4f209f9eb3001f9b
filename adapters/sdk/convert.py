"""Value converters for mapping tables: vendor value <-> DHI value, both directions.

Each factory returns a ``Converter`` whose ``from_hub`` inverts ``to_hub`` (within
rounding), so one declaration serves state reports and commands alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ConversionError(ValueError):
    """A vendor value cannot be converted (wrong type, unknown enum member)."""


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConversionError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _tidy(value: float, digits: int | None) -> float | int:
    if digits is None:
        return value
    rounded = round(value, digits)
    return int(rounded) if digits == 0 else rounded


@dataclass(frozen=True)
class Converter:
    to_hub: Callable[[Any], Any]
    from_hub: Callable[[Any], Any] | None = None
    name: str = "identity"

    def __call__(self, value: Any) -> Any:
        return self.to_hub(value)

    def back(self, value: Any) -> Any:
        if self.from_hub is None:
            raise ConversionError(f"converter {self.name} is read-only")
        return self.from_hub(value)


identity = Converter(lambda v: v, lambda v: v, "identity")


def scale(factor: float, *, digits: int | None = None) -> Converter:
    """DHI value = vendor value * factor (e.g. centi-degrees: ``scale(0.01)``)."""
    if factor == 0:
        raise ValueError("factor must not be 0")
    return Converter(
        lambda v: _tidy(_num(v) * factor, digits),
        lambda v: _num(v) / factor,
        f"scale({factor})",
    )


def linear(
    vendor: tuple[float, float], hub: tuple[float, float], *, digits: int | None = 1, clamp_out: bool = True
) -> Converter:
    """Map a vendor range onto a DHI range (e.g. levels 0..254 -> 0..100 %)."""
    (v0, v1), (h0, h1) = vendor, hub
    if v0 == v1 or h0 == h1:
        raise ValueError("ranges must not be empty")

    def to_hub(v: Any) -> Any:
        out = h0 + (_num(v) - v0) * (h1 - h0) / (v1 - v0)
        if clamp_out:
            out = min(max(out, min(h0, h1)), max(h0, h1))
        return _tidy(out, digits)

    def from_hub(v: Any) -> Any:
        out = v0 + (_num(v) - h0) * (v1 - v0) / (h1 - h0)
        out = min(max(out, min(v0, v1)), max(v0, v1))
        return round(out)

    return Converter(to_hub, from_hub, f"linear({vendor}->{hub})")


def _mireds_kelvin(v: Any) -> int:
    n = _num(v)
    if n <= 0:
        raise ConversionError("colour temperature must be positive")
    return round(1_000_000 / n)


#: mireds <-> kelvin is its own inverse.
kelvin_from_mireds = Converter(_mireds_kelvin, _mireds_kelvin, "kelvin_from_mireds")


def clamp(lo: float, hi: float) -> Converter:
    return Converter(
        lambda v: min(max(_num(v), lo), hi),
        lambda v: min(max(_num(v), lo), hi),
        f"clamp({lo},{hi})",
    )


def enum_map(mapping: Mapping[Any, Any], *, name: str = "enum_map") -> Converter:
    """Vendor enum value -> DHI value; unknown vendor values are a ``ConversionError``."""
    forward = dict(mapping)
    reverse: dict[Any, Any] = {}
    for k, v in forward.items():
        reverse.setdefault(v, k)

    def to_hub(v: Any) -> Any:
        try:
            return forward[v]
        except (KeyError, TypeError):
            raise ConversionError(f"unknown value {v!r}; expected one of {list(forward)}") from None

    def from_hub(v: Any) -> Any:
        try:
            return reverse[v]
        except (KeyError, TypeError):
            raise ConversionError(f"unknown value {v!r}; expected one of {list(reverse)}") from None

    return Converter(to_hub, from_hub, name)


def bool_map(true_value: Any, false_value: Any) -> Converter:
    """Vendor two-state value (``"ON"``/``"OFF"``, 1/0) <-> boolean."""
    conv = enum_map({true_value: True, false_value: False}, name=f"bool_map({true_value!r},{false_value!r})")
    return conv
