"""Sensible initial values for catalog properties, so a generated device starts in a plausible,
valid state: a quiet, healthy home (alarms off, doors closed, batteries full, rooms at 21 °C).

The choice is data, most specific first: a typical value for ``capability.property``, else for
the property name, else for the unit, else the middle of the range (or null when nullable).
Numbers are then clamped into the (device-narrowed) range and snapped to the step; a typical
value the device's constraints reject falls back to the generic choice.
"""

from __future__ import annotations

import math
from typing import Any

from dhi.catalog import check_value
from dhi.errors import HubError
from dhi.models.catalog import PropertyDef, ValueType
from dhi.models.device import PropertyConstraint

#: Typical values of specific properties, where the name alone is ambiguous (a battery's
#: voltage is not the mains voltage) or the generic choice would mean an alarm or nonsense.
TYPICAL_BY_PROPERTY: dict[str, Any] = {
    "dhi.battery.voltage": 3.0,
    "dhi.gas_leak.concentration": 0,
    "dhi.temperature.high_threshold": 30,
    "dhi.temperature.low_threshold": 10,
    "dhi.humidity.high_threshold": 70,
    "dhi.humidity.low_threshold": 30,
    "dhi.humidity.dew_point": 9,
    "dhi.heart_rate.high_threshold": 120,
    "dhi.heart_rate.low_threshold": 40,
    "dhi.respiration_rate.high_threshold": 30,
    "dhi.respiration_rate.low_threshold": 8,
    "dhi.level.min_level": 1,
    "dhi.level.max_level": 100,
    "dhi.level.on_level": 100,
    "dhi.level.startup_level": 100,
    "dhi.color_temperature.min_color_temperature": 2200,
    "dhi.color_temperature.max_color_temperature": 6500,
    "dhi.thermostat.cooling_setpoint": 26,
    "dhi.thermostat.unoccupied_heating_setpoint": 16,
    "dhi.thermostat.unoccupied_cooling_setpoint": 30,
    "dhi.thermostat.min_heat_setpoint_limit": 7,
    "dhi.thermostat.max_heat_setpoint_limit": 30,
    "dhi.thermostat.abs_min_heat_setpoint_limit": 7,
    "dhi.thermostat.abs_max_heat_setpoint_limit": 30,
    "dhi.thermostat.min_cool_setpoint_limit": 16,
    "dhi.thermostat.max_cool_setpoint_limit": 32,
    "dhi.thermostat.eco_setpoint": 17,
    "dhi.thermostat.holiday_setpoint": 12,
    "dhi.thermostat.outdoor_temperature": 8,
    "dhi.thermostat.heating_demand": 0,
    "dhi.thermostat.cooling_demand": 0,
    "dhi.thermostat.valve_position": 0,
    "dhi.thermostat.control_sequence": "heating_only",
    "dhi.electrical_protection.over_voltage_threshold": 253,
    "dhi.electrical_protection.under_voltage_threshold": 207,
    "dhi.electrical_protection.over_current_threshold": 16,
    "dhi.electrical_protection.over_power_threshold": 3680,
    "dhi.fan.speed": 0,
    "dhi.fan.speed_max": 3,
    "dhi.valve.level": 0,
    "dhi.siren.volume": "high",
    "dhi.siren.duration": 180,
    "dhi.lock.lock_state": "locked",
    "dhi.lock.door_state": "closed",
    "dhi.fall_detection.state": "normal",
    "dhi.sleep.state": "awake",
    "dhi.report_interval.interval": 300,
}

#: Typical values by property name (names not in the catalog are caught by a test).
TYPICAL_BY_NAME: dict[str, Any] = {
    "percentage": 100,  # battery charge
    "filter_life": 100,
    "humidity": 45,
    "illuminance": 250,
    "co2": 450,
    "pressure": 1013,
    "voltage": 230,
    "frequency": 50,
    "power_factor": 1,
    "heart_rate": 68,
    "respiration_rate": 15,
    "offset": 0,
    "local_temperature_calibration": 0,
    "deadband": 2,
    "progress": 0,
    "people_count": 0,
    "multi_press_max": 2,
    "voc_index": 100,
    "keypad_lockout": 0,
    "speed_level": 0,
    "threshold": 43200,  # inactivity: 12 h
    # booleans whose resting value is true: a closed door, a device online, a feature enabled
    "contact": True,
    "online": True,
    "enabled": True,
    # descriptive text
    "installed_version": "1.0.0",
    "latest_version": "1.0.1",
    "firmware_version": "1.0.0",
    "hardware_version": "1.0",
    "manufacturer": "dhome",
    "model": "virtual",
    "serial_number": "VIRTUAL-0001",
}

#: Typical readings by UCUM unit, for numbers the tables above do not cover.
TYPICAL_BY_UNIT: dict[str, float] = {
    "Cel": 21,
    "K": 3000,
    "%": 50,
    "1": 0,
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


def initial_value(
    prop: PropertyDef, constraint: PropertyConstraint | None = None, capability: str | None = None
) -> Any:
    """A plausible value that passes ``check_value(prop, value, ..., constraint)``."""
    typical = _typical(prop, capability)
    if typical is not _NONE:
        value = _shape(prop, constraint, typical)
        if _valid(prop, value, constraint):
            return value
    value = _generic(prop, constraint)
    if _valid(prop, value, constraint):
        return value
    if prop.nullable:
        return None
    raise NoValidValue(f"{prop.name}: no valid value exists under the given type, range and constraints")


_NONE: Any = object()


def _typical(prop: PropertyDef, capability: str | None) -> Any:
    if capability is not None and f"{capability}.{prop.name}" in TYPICAL_BY_PROPERTY:
        return TYPICAL_BY_PROPERTY[f"{capability}.{prop.name}"]
    if prop.name in TYPICAL_BY_NAME:
        return TYPICAL_BY_NAME[prop.name]
    if prop.type in (ValueType.INTEGER, ValueType.NUMBER) and prop.unit in TYPICAL_BY_UNIT:
        return TYPICAL_BY_UNIT[prop.unit]
    return _NONE


def _valid(prop: PropertyDef, value: Any, constraint: PropertyConstraint | None) -> bool:
    try:
        check_value(prop, value, prop.name, constraint)
    except HubError:
        return False
    return True


def _shape(prop: PropertyDef, constraint: PropertyConstraint | None, typical: Any) -> Any:
    """Fit a typical number into the range/step/type; other values are used as they are."""
    numeric = isinstance(typical, int | float) and not isinstance(typical, bool)
    if prop.type in (ValueType.INTEGER, ValueType.NUMBER) and numeric:
        return _number(prop, constraint, float(typical))
    return typical


def _generic(prop: PropertyDef, constraint: PropertyConstraint | None) -> Any:
    match prop.type:
        case ValueType.BOOLEAN:
            return False
        case ValueType.ENUM:
            allowed = (constraint.enum if constraint and constraint.enum else None) or prop.enum or []
            return next((e for e in allowed if prop.enum is None or e in prop.enum), None)
        case ValueType.STRING:
            if prop.nullable:
                return None
            return "" if prop.schema_ is None else example_for_schema(prop.schema_)
        case ValueType.INTEGER | ValueType.NUMBER:
            lo, hi = _bounds(prop, constraint)
            if prop.nullable:
                return None  # nothing measured yet is more honest than an arbitrary number
            if lo is not None and hi is not None:
                middle = lo + (hi - lo) / 2
            else:
                middle = lo if lo is not None else (hi if hi is not None else 0.0)
            return _number(prop, constraint, middle)
        case ValueType.OBJECT:
            return example_for_schema(prop.schema_ or {"type": "object"})
        case ValueType.ARRAY:
            return example_for_schema(prop.schema_ or {"type": "array"})


def _bounds(prop: PropertyDef, constraint: PropertyConstraint | None) -> tuple[float | None, float | None]:
    lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
    hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
    return lo, hi


def _number(prop: PropertyDef, constraint: PropertyConstraint | None, typical: float) -> int | float:
    lo, hi = _bounds(prop, constraint)
    value = typical
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    step = (constraint.step if constraint and constraint.step else None) or prop.step
    if step is not None:
        value = _snap(value, step, lo, hi)
    if prop.type is ValueType.INTEGER:
        return _integer_in(value, lo, hi)
    return float(value)


def _snap(value: float, step: float, lo: float | None, hi: float | None) -> float:
    """The nearest ``base + k*step`` inside the range (``base`` = minimum, else 0)."""
    base = lo if lo is not None else 0.0
    snapped = base + round((value - base) / step) * step
    if hi is not None and snapped > hi:
        snapped -= step
    if lo is not None and snapped < lo:
        return value  # the range is narrower than one step: keep the in-range value
    tidy = round(snapped, 9)  # 0.1 * 3 → 0.3, unless tidying leaves the range
    inside = (lo is None or tidy >= lo) and (hi is None or tidy <= hi)
    return tidy if inside else snapped


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
    required, items, minItems, minLength); the caller checks the result anyway.
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
            return _schema_number(schema, kind)
        case _:
            return None


def _schema_number(schema: dict[str, Any], kind: str) -> int | float:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    xhi = schema.get("exclusiveMaximum")
    value: float = 0
    if lo is not None and value < lo:
        value = lo
    if xlo is not None and value <= xlo:
        value = xlo + (1 if hi is None and xhi is None else 0)
        if value <= xlo:  # a bounded open interval: take its middle
            top = hi if hi is not None else xhi
            value = xlo + (top - xlo) / 2
    if hi is not None and value > hi:
        value = hi
    if xhi is not None and value >= xhi:
        value = xhi - 1 if lo is None and xlo is None else (value + xhi) / 2
    return math.ceil(value) if kind == "integer" else value
