"""Sensible initial values for catalog properties, so a generated device starts in a plausible,
valid state (a quiet, healthy home: alarms off, batteries full, rooms at 21 °C).

The choice is data: a typical value per property name, else per unit, else the middle of the
range; then it is clamped into the (device-narrowed) range and snapped to the step.
"""

from __future__ import annotations

import math
from typing import Any

from hub.catalog import check_value
from hub.models.catalog import PropertyDef, ValueType
from hub.models.device import PropertyConstraint

#: Typical readings by property name (a healthy home at rest). Names not in the catalog are
#: harmless but a test keeps this table free of dead rows.
TYPICAL_BY_NAME: dict[str, float] = {
    "battery": 100,
    "humidity": 45,
    "illuminance": 250,
    "co2": 450,
    "pressure": 1013,
    "voltage": 230,
    "frequency": 50,
    "power_factor": 1,
    "heart_rate": 68,
    "respiration_rate": 15,
}

#: Typical readings by UCUM unit, for properties the name table does not cover.
TYPICAL_BY_UNIT: dict[str, float] = {
    "Cel": 21,
    "K": 3000,
    "%": 50,
    "lx": 250,
    "W": 0,
    "VA": 0,
    "var": 0,
    "kW.h": 0,
    "V": 230,
    "A": 0,
    "Hz": 50,
    "[ppm]": 0,
    "ug/m3": 8,
    "mg/m3": 0,
    "hPa": 1013,
    "L": 0,
    "m3": 0,
    "L/min": 0,
    "m3/h": 0,
    "s": 0,
    "min": 0,
    "/min": 0,
    "dB[SPL]": 35,
    "dB[mW]": -60,
    "m": 0,
    "deg": 0,
}


class NoValidValue(ValueError):
    """The property (with its constraint) admits no value at all, e.g. an empty integer range."""


def initial_value(prop: PropertyDef, constraint: PropertyConstraint | None = None) -> Any:
    """A value that passes ``check_value(prop, value, ..., constraint)``."""
    value = _candidate(prop, constraint)
    try:
        check_value(prop, value, prop.name, constraint)
    except Exception as exc:
        if prop.nullable:
            return None
        raise NoValidValue(f"{prop.name}: no valid initial value ({exc})") from exc
    return value


def _candidate(prop: PropertyDef, constraint: PropertyConstraint | None) -> Any:
    match prop.type:
        case ValueType.BOOLEAN:
            return False
        case ValueType.ENUM:
            allowed = (constraint.enum if constraint and constraint.enum else None) or prop.enum or []
            return next((e for e in allowed if prop.enum is None or e in prop.enum), None)
        case ValueType.STRING:
            return "" if prop.schema_ is None else example_for_schema(prop.schema_)
        case ValueType.INTEGER | ValueType.NUMBER:
            return _number(prop, constraint)
        case ValueType.OBJECT:
            return example_for_schema(prop.schema_ or {"type": "object"})
        case ValueType.ARRAY:
            return example_for_schema(prop.schema_ or {"type": "array"})


def _bounds(prop: PropertyDef, constraint: PropertyConstraint | None) -> tuple[float | None, float | None]:
    lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
    hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
    return lo, hi


def _number(prop: PropertyDef, constraint: PropertyConstraint | None) -> int | float:
    lo, hi = _bounds(prop, constraint)
    typical = TYPICAL_BY_NAME.get(prop.name)
    if typical is None and prop.unit is not None:
        typical = TYPICAL_BY_UNIT.get(prop.unit)
    if typical is None:
        if lo is not None and hi is not None:
            typical = lo + (hi - lo) / 2
        else:
            typical = lo if lo is not None else (hi if hi is not None else 0.0)
    value = min(max(typical, lo if lo is not None else typical), hi if hi is not None else typical)
    step = (constraint.step if constraint and constraint.step else None) or prop.step
    if step is not None:
        value = _snap(value, step, lo, hi)
    if prop.type is ValueType.INTEGER:
        return _integer_in(value, lo, hi)
    return float(value)


def _snap(value: float, step: float, lo: float | None, hi: float | None) -> float:
    """The nearest ``base + k·step`` inside the range (``base`` = minimum, else 0)."""
    base = lo if lo is not None else 0.0
    k = round((value - base) / step)
    snapped = base + k * step
    if hi is not None and snapped > hi:
        snapped -= step
    if lo is not None and snapped < lo:
        return value  # the range is narrower than one step: keep the in-range value
    return round(snapped, 9)


def _integer_in(value: float, lo: float | None, hi: float | None) -> int:
    candidate = round(value)
    if lo is not None and candidate < lo:
        candidate = math.ceil(lo)
    if hi is not None and candidate > hi:
        candidate = math.floor(hi)
    return int(candidate)


# ------------------------------------------------------------------ JSON Schema examples


def example_for_schema(schema: Any) -> Any:
    """The smallest instance of a (simple) JSON Schema: required members only, minimum items.

    Covers what catalog schemas use (type, const, enum, default, minimum/maximum, properties,
    required, items, minItems, minLength); anything fancier gets checked by the caller.
    """
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    match kind:
        case "object":
            props = schema.get("properties", {})
            return {name: example_for_schema(props.get(name, {})) for name in schema.get("required", [])}
        case "array":
            item = schema.get("items", {})
            return [example_for_schema(item) for _ in range(int(schema.get("minItems", 0)))]
        case "string":
            return "x" * int(schema.get("minLength", 0))
        case "boolean":
            return False
        case "integer" | "number":
            lo = schema.get("minimum", schema.get("exclusiveMinimum"))
            hi = schema.get("maximum", schema.get("exclusiveMaximum"))
            value: float = 0
            if lo is not None and value < lo:
                value = lo + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
            if hi is not None and value > hi:
                value = hi - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
            return int(math.ceil(value)) if kind == "integer" else value
        case _:
            return None
