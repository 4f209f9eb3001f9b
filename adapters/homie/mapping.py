"""Homie 5 -> DHI mapping tables.

Source: the Homie convention v5 (homieiot/convention, ``convention.md``): ``$description``
nodes/properties with ``datatype`` (integer, float, boolean, string, enum, color, datetime,
duration, json), ``format`` (``min:max[:step]``, enum values, colour formats), ``unit``
(recommended units such as ``°C``, ``W``, ``kWh``, ``%``), ``settable`` and ``retained``.

Homie carries no semantic types, so a property becomes a catalog capability only when a
row below recognises it by datatype + unit + id; everything else is kept as a typed vendor
capability ``x.homie.<node>`` with the property's own type, unit, range and access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.sdk import Converter, identity, scale
from adapters.sdk.convert import ConversionError


def _f_to_c(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConversionError(f"expected a number, got {type(v).__name__}")
    return round((v - 32) * 5 / 9, 2)


FAHRENHEIT = Converter(_f_to_c, lambda c: round(c * 9 / 5 + 32, 2), "fahrenheit")


@dataclass(frozen=True)
class UnitRow:
    """A Homie unit string -> UCUM symbol of units.yaml and a converter into it."""

    homie: str
    ucum: str
    convert: Converter = identity


UNITS: tuple[UnitRow, ...] = (
    UnitRow("°C", "Cel"),
    UnitRow("°F", "Cel", FAHRENHEIT),
    UnitRow("°", "deg"),
    UnitRow("K", "K"),
    UnitRow("%", "%"),
    UnitRow("W", "W"),
    UnitRow("kW", "W", scale(1000)),
    UnitRow("kWh", "kW.h"),
    UnitRow("Wh", "kW.h", scale(0.001)),
    UnitRow("V", "V"),
    UnitRow("A", "A"),
    UnitRow("Hz", "Hz"),
    UnitRow("lx", "lx"),
    UnitRow("Pa", "hPa", scale(0.01)),
    UnitRow("hPa", "hPa"),
    UnitRow("ppm", "[ppm]"),
    UnitRow("µg/m³", "ug/m3"),
    UnitRow("L", "L"),
    UnitRow("m³", "m3"),
    UnitRow("m", "m"),
    UnitRow("s", "s"),
    UnitRow("min", "min"),
)
UNIT_BY_HOMIE = {u.homie: u for u in UNITS}


@dataclass(frozen=True)
class SemanticRow:
    """Recognise a Homie property as a catalog capability property.

    Matches when the datatype is one of ``datatypes``, the (Homie) unit is one of ``units``
    (``None`` = no unit), the property id is one of ``ids`` (empty = any) and, if given, the
    settable flag agrees. Rows are tried in order; the first match wins.
    """

    capability: str
    property: str
    datatypes: tuple[str, ...]
    units: tuple[str | None, ...] = (None,)
    ids: tuple[str, ...] = ()
    settable: bool | None = None
    scale_to_percent: bool = False  # integer/float with a range: map min..max onto 0..100 %


SEMANTICS: tuple[SemanticRow, ...] = (
    SemanticRow("dhi.on_off", "on", ("boolean",), ids=("power", "on", "state", "switch", "relay"), settable=True),
    SemanticRow("dhi.level", "level", ("integer", "float"), units=("%", None),
                ids=("brightness", "level", "dimmer", "intensity"), settable=True, scale_to_percent=True),
    SemanticRow("dhi.temperature", "temperature", ("integer", "float"), units=("°C", "°F"), settable=False),
    SemanticRow("dhi.thermostat", "target_temperature", ("integer", "float"), units=("°C", "°F"),
                ids=("target-temperature", "setpoint", "target"), settable=True),
    SemanticRow("dhi.humidity", "humidity", ("integer", "float"), units=("%",), ids=("humidity", "relative-humidity")),
    SemanticRow("dhi.battery", "percentage", ("integer", "float"), units=("%",), ids=("battery", "battery-level")),
    SemanticRow("dhi.power", "power", ("integer", "float"), units=("W", "kW")),
    SemanticRow("dhi.energy", "energy", ("integer", "float"), units=("kWh", "Wh")),
    SemanticRow("dhi.voltage", "voltage", ("integer", "float"), units=("V",)),
    SemanticRow("dhi.current", "current", ("integer", "float"), units=("A",)),
    SemanticRow("dhi.ac_frequency", "frequency", ("integer", "float"), units=("Hz",)),
    SemanticRow("dhi.illuminance", "illuminance", ("integer", "float"), units=("lx",)),
    SemanticRow("dhi.pressure", "pressure", ("integer", "float"), units=("Pa", "hPa")),
    SemanticRow("dhi.co2", "co2", ("integer", "float"), units=("ppm",), ids=("co2", "carbon-dioxide")),
    SemanticRow("dhi.motion", "motion", ("boolean",), ids=("motion", "movement"), settable=False),
    SemanticRow("dhi.contact", "contact", ("boolean",), ids=("contact",), settable=False),
    SemanticRow("dhi.smoke_alarm", "smoke", ("boolean",), ids=("smoke",), settable=False),
    SemanticRow("dhi.water_leak", "water_leak", ("boolean",), ids=("leak", "water-leak"), settable=False),
)  # fmt: skip

#: Homie datatypes a vendor property can carry, and the DHI value type for each
DATATYPES = {
    "integer": "integer",
    "float": "number",
    "boolean": "boolean",
    "string": "string",
    "enum": "enum",
    "color": "string",  # "rgb,255,0,0" kept as the device sends it
    "datetime": "string",  # ISO 8601
    "duration": "string",  # ISO 8601 duration, e.g. PT12H
    "json": "object",
}

#: $state -> (available, reason)
STATES = {
    "ready": (True, "device ready"),
    "init": (False, "device initialising"),
    "disconnected": (False, "device disconnected"),
    "sleeping": (False, "device sleeping"),
    "lost": (False, "device lost (LWT)"),
}
