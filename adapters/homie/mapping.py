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
    """Recognise a Homie property as a catalog capability property by its declared semantics.

    Matches when the datatype is one of ``datatypes``, the (Homie) unit is one of ``units``
    (``None`` = no unit), the property id's stem (channel suffix removed) is one of ``ids``
    (empty = any), at least one of ``words`` is a word of the id or name (empty = no
    condition) and, if given, the settable flag agrees. A ``measurement`` row never matches
    a settable property or one whose id/name says it is a setting, rating or capacity
    (``NOT_MEASURED``). Rows are tried in order; the first match wins.
    """

    capability: str
    property: str
    datatypes: tuple[str, ...]
    units: tuple[str | None, ...] = (None,)
    ids: tuple[str, ...] = ()
    settable: bool | None = None
    scale_to_percent: bool = False  # integer/float with a range: map min..max onto 0..100 %
    words: tuple[str, ...] = ()
    measurement: bool = True
    #: an enum of exactly these two values (any case), the first meaning true: a relay's
    #: ``CLOSED``/``OPEN`` is on/off, a door's is contact closed/open
    states: tuple[str, str] | None = None


_NUM = ("integer", "float")
#: words of a property id or name that make a value a setting/rating, not a measurement
#: (a breaker ``rating`` in A, a battery's ``nameplate-capacity`` or ``soe`` in kWh,
#: ``nominal-power``, ``*-import-limit``)
NOT_MEASURED = frozenset(
    {"rating", "rated", "limit", "limits", "capacity", "nameplate", "nominal", "max", "maximum", "min",
     "minimum", "threshold", "setpoint", "setting", "soe", "reserve", "budget"}
)  # fmt: skip
#: energy flowing out of the device or home (DHI ``produced_energy``)
PRODUCED = ("exported", "export", "produced", "production", "generated", "returned", "feed", "feedin")

SEMANTICS: tuple[SemanticRow, ...] = (
    SemanticRow("dhi.on_off", "on", ("boolean",), ids=("power", "on", "state", "switch", "relay"), settable=True,
                measurement=False),
    SemanticRow("dhi.level", "level", _NUM, units=("%", None), ids=("brightness", "level", "dimmer", "intensity"),
                settable=True, scale_to_percent=True, measurement=False),
    SemanticRow("dhi.thermostat", "target_temperature", _NUM, units=("°C", "°F"),
                ids=("target-temperature", "setpoint", "target"), settable=True, measurement=False),
    SemanticRow("dhi.temperature", "temperature", _NUM, units=("°C", "°F")),
    SemanticRow("dhi.humidity", "humidity", _NUM, units=("%",), ids=("humidity", "relative-humidity")),
    SemanticRow("dhi.battery", "percentage", _NUM, units=("%",),
                ids=("battery", "battery-level", "soc", "state-of-charge")),
    SemanticRow("dhi.power", "power", _NUM, units=("W", "kW")),
    SemanticRow("dhi.energy", "produced_energy", _NUM, units=("kWh", "Wh"), words=PRODUCED),
    SemanticRow("dhi.energy", "energy", _NUM, units=("kWh", "Wh")),
    SemanticRow("dhi.voltage", "voltage", _NUM, units=("V",)),
    SemanticRow("dhi.current", "current", _NUM, units=("A",)),
    SemanticRow("dhi.ac_frequency", "frequency", _NUM, units=("Hz",)),
    SemanticRow("dhi.illuminance", "illuminance", _NUM, units=("lx",)),
    SemanticRow("dhi.pressure", "pressure", _NUM, units=("Pa", "hPa")),
    SemanticRow("dhi.co2", "co2", _NUM, units=("ppm",), ids=("co2", "carbon-dioxide")),
    *(SemanticRow("dhi.on_off", "on", ("enum",), ids=("relay", "switch", "power", "state", "on"), settable=True,
                  states=states, measurement=False) for states in (("CLOSED", "OPEN"), ("ON", "OFF"))),
    SemanticRow("dhi.contact", "contact", ("enum",), ids=("door", "window", "contact"), settable=False,
                states=("CLOSED", "OPEN")),
    SemanticRow("dhi.motion", "motion", ("boolean",), ids=("motion", "movement"), settable=False),
    SemanticRow("dhi.contact", "contact", ("boolean",), ids=("contact",), settable=False),
    SemanticRow("dhi.smoke_alarm", "smoke", ("boolean",), ids=("smoke",), settable=False),
    SemanticRow("dhi.water_leak", "water_leak", ("boolean",), ids=("leak", "water-leak"), settable=False),
)  # fmt: skip

#: a channel suffix of a property id -> the DHI component suffix: ``current-a`` is phase A,
#: ``power-l2`` line 2, ``voltage-3`` channel 3 (one property per phase/channel, never shared)
CHANNELS: tuple[tuple[str, str], ...] = (
    (r"-(?P<n>[abc])$", "phase_{n}"),
    (r"-l(?P<n>[1-9])$", "l{n}"),
    (r"-(?:ch|channel)?(?P<n>[0-9]{1,2})$", "channel_{n}"),
)

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
