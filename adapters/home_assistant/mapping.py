"""How Home Assistant entity data becomes DHI values, and DHI commands service calls.

WHICH capability an entity is comes from the catalog (``mappings.home_assistant``, read in
reverse through ``dhi.home_assistant.rows_for_entity``): the same rows the dhome → HA bridge
exports. This module only holds HOW: where a composite platform (light, cover, lock, climate)
keeps each value among its attributes, what a feature looks like in an entity's attributes,
which service a command becomes, and the unit conversions HA may need (°F, Wh, …).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.sdk.convert import ConversionError, Converter, bool_map, enum_map, identity, linear
from dhi.home_assistant import FAN_PRESET_MODES

#: ``source`` of a value that is the entity's state (not an attribute)
STATE = "@state"
#: ``source`` of a value read from the state and the attributes together ({"state": …, **attributes})
ENTITY = "@entity"
#: HA states meaning "no value now" (the entity exists)
NO_VALUE = frozenset({"unknown", "unavailable", ""})


def _number(v: Any) -> float:
    if isinstance(v, bool):
        raise ConversionError(f"expected a number, got {v!r}")
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise ConversionError(f"expected a number, got {v!r}") from None
    if not math.isfinite(out):
        raise ConversionError(f"expected a finite number, got {v!r}")
    return out


def _tidy(v: float) -> float | int:
    return int(v) if v.is_integer() else round(v, 6)


number = Converter(lambda v: _tidy(_number(v)), lambda v: _tidy(_number(v)), "number")
integer = Converter(lambda v: round(_number(v)), lambda v: round(_number(v)), "integer")
on_off = bool_map("on", "off")
text = Converter(lambda v: v if isinstance(v, str) else str(v), lambda v: v, "text")


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConversionError(f"expected true or false, got {v!r}")
    return v


boolean = Converter(_boolean, _boolean, "boolean")


def _fan_mode(entity: Mapping[str, Any]) -> str:
    """A fan's DHI mode from its state and preset: off, a preset the catalog has, else on."""
    state = entity.get("state")
    if state == "off":
        return "off"
    if state != "on":
        raise ConversionError(f"expected on or off, got {state!r}")
    preset = entity.get("preset_mode")
    return preset if preset in FAN_PRESET_MODES else "on"


fan_mode = Converter(_fan_mode, None, "fan_mode")


def index(position: int, conv: Converter = number) -> Converter:
    """One member of a list attribute (``hs_color`` [hue, saturation])."""

    def pick(v: Any) -> Any:
        if not isinstance(v, list | tuple) or len(v) <= position:
            raise ConversionError(f"expected a list with at least {position + 1} numbers, got {v!r}")
        return conv(v[position])

    return Converter(pick, None, f"index({position})")


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitRow:
    """An HA unit that is not the HA form of the catalog's unit: how to get there and back
    (back: a value dhome sets is sent to HA in the entity's own unit)."""

    ha: str
    ucum: str
    to_dhi: Callable[[float], float]
    from_dhi: Callable[[float], float]


def _factor(ha: str, ucum: str, k: float) -> UnitRow:
    """DHI value = HA value * k."""
    return UnitRow(ha, ucum, lambda v: v * k, lambda v: v / k)


UNIT_CONVERSIONS: tuple[UnitRow, ...] = (
    UnitRow("°F", "Cel", lambda v: (v - 32) * 5 / 9, lambda v: v * 9 / 5 + 32),
    UnitRow("K", "Cel", lambda v: v - 273.15, lambda v: v + 273.15),
    _factor("Wh", "kW.h", 1 / 1000),
    _factor("MWh", "kW.h", 1000),
    _factor("kW", "W", 1000),
    _factor("mbar", "hPa", 1),
    _factor("Pa", "hPa", 1 / 100),
    _factor("kPa", "hPa", 10),
    _factor("inHg", "hPa", 33.8639),
    _factor("mmHg", "hPa", 1.33322),
    _factor("mV", "V", 1 / 1000),
    _factor("mA", "A", 1 / 1000),
    _factor("ft³", "m3", 0.0283168),
    _factor("gal", "L", 3.78541),
    _factor("m³", "L", 1000),
)  # fmt: skip


def unit_row(ha_unit: str | None, ucum: str | None) -> UnitRow | None:
    """The conversion between an entity's unit and the catalog's; None if there is none."""
    return next((r for r in UNIT_CONVERSIONS if r.ha == ha_unit and r.ucum == ucum), None)


def in_unit(conv: Converter, row: UnitRow) -> Converter:
    """``conv`` reading a value HA gives in ``row.ha``: the result is in the catalog's unit."""

    def read(v: Any) -> Any:
        return _tidy(round(row.to_dhi(float(conv(v))), 6))

    def write(v: Any) -> Any:
        return conv.back(_tidy(round(row.from_dhi(_number(v)), 6)))

    return Converter(read, write, f"{conv.name}({row.ha}<->{row.ucum})")


#: the unit HA gives a climate entity's temperatures in when HA's config does not say
#: (HA converts every climate entity into its configured unit system, ``unit_system.temperature``)
DEFAULT_TEMPERATURE_UNIT = "°C"


# ---------------------------------------------------------------- composite platforms


@dataclass(frozen=True)
class ValueRow:
    """One DHI property of a composite entity: read from ``source`` (the state or an
    attribute) when the entity has ``feature`` (None: always). ``temperature``: the value is in
    HA's configured temperature unit (°C, °F, K), not necessarily the catalog's °C."""

    domain: str
    capability: str
    property: str
    source: str
    convert: Converter = identity
    feature: str | None = None
    temperature: bool = False


HVAC_MODES = enum_map(
    {"off": "off", "heat": "heat", "cool": "cool", "auto": "auto", "heat_cool": "auto", "dry": "dry", "fan_only": "fan_only"},
    name="hvac_mode",
)  # fmt: skip

VALUES: tuple[ValueRow, ...] = (
    ValueRow("light", "dhi.on_off", "on", STATE, on_off),
    ValueRow("light", "dhi.level", "level", "brightness", linear((0, 255), (0, 100)), "brightness"),
    ValueRow("light", "dhi.color_temperature", "color_temperature", "color_temp_kelvin", integer, "color_temp"),
    ValueRow("light", "dhi.color", "hue", "hs_color", index(0), "hs"),
    ValueRow("light", "dhi.color", "saturation", "hs_color", index(1), "hs"),
    ValueRow("light", "dhi.color", "x", "xy_color", index(0), "xy"),
    ValueRow("light", "dhi.color", "y", "xy_color", index(1), "xy"),
    ValueRow("cover", "dhi.window_covering", "position", "current_position", number, "position"),
    ValueRow("cover", "dhi.window_covering", "tilt", "current_tilt_position", number, "tilt"),
    ValueRow("cover", "dhi.window_covering", "moving", STATE,
             enum_map({"opening": "opening", "closing": "closing", "open": "stopped", "closed": "stopped"})),
    ValueRow("lock", "dhi.lock", "lock_state", STATE,
             enum_map({"locked": "locked", "unlocked": "unlocked", "open": "unlatched", "jammed": "not_fully_locked",
                       "locking": "not_fully_locked", "unlocking": "not_fully_locked", "opening": "not_fully_locked"})),
    ValueRow("climate", "dhi.thermostat", "system_mode", STATE, HVAC_MODES),
    ValueRow("climate", "dhi.thermostat", "local_temperature", "current_temperature", number, "current_temperature",
             temperature=True),
    ValueRow("climate", "dhi.thermostat", "heating_setpoint", "temperature", number, "target_temperature",
             temperature=True),
    ValueRow("fan", "dhi.fan", "mode", ENTITY, fan_mode),
    ValueRow("fan", "dhi.fan", "speed", "percentage", number, "percentage"),
    ValueRow("fan", "dhi.fan", "oscillation", "oscillating", boolean, "oscillation"),
    ValueRow("fan", "dhi.fan", "direction", "direction", enum_map({"forward": "forward", "reverse": "reverse"}), "direction"),
    ValueRow("valve", "dhi.valve", "state", STATE,
             enum_map({"open": "open", "closed": "closed", "opening": "transitioning", "closing": "transitioning"})),
    ValueRow("valve", "dhi.valve", "level", "current_position", number, "position"),
    ValueRow("siren", "dhi.siren", "active", STATE, on_off),
)  # fmt: skip

_COLOR_MODES_WITH_BRIGHTNESS = frozenset(
    {"brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"}
)


def _modes(attrs: Mapping[str, Any]) -> frozenset[str]:
    modes = attrs.get("supported_color_modes")
    return frozenset(m for m in modes if isinstance(m, str)) if isinstance(modes, list) else frozenset()


def _bits(attrs: Mapping[str, Any]) -> int:
    f = attrs.get("supported_features")
    return f if isinstance(f, int) and not isinstance(f, bool) else 0


#: what each catalog feature of a composite platform looks like in the entity's attributes
#: (HA's supported_color_modes and supported_features bits: LightEntityFeature, CoverEntityFeature, …)
FEATURE_TESTS: dict[str, dict[str, Callable[[Mapping[str, Any]], bool]]] = {
    "light": {
        "brightness": lambda a: bool(_modes(a) & _COLOR_MODES_WITH_BRIGHTNESS),
        "color_temp": lambda a: "color_temp" in _modes(a),
        "hs": lambda a: bool(_modes(a) & {"hs", "rgb", "rgbw", "rgbww"}),
        "xy": lambda a: "xy" in _modes(a),
        "effect": lambda a: bool(_bits(a) & 4),
    },
    "cover": {
        "open_close": lambda a: bool(_bits(a) & 3),
        "position": lambda a: bool(_bits(a) & 4),
        "stop": lambda a: bool(_bits(a) & 8),
        "tilt": lambda a: bool(_bits(a) & 128),
    },
    "lock": {"open": lambda a: bool(_bits(a) & 1)},
    # FanEntityFeature, ValveEntityFeature, SirenEntityFeature
    "fan": {
        "percentage": lambda a: bool(_bits(a) & 1),
        "oscillation": lambda a: bool(_bits(a) & 2),
        "direction": lambda a: bool(_bits(a) & 4),
        "preset_mode": lambda a: bool(_bits(a) & 8),
    },
    "valve": {"open_close": lambda a: bool(_bits(a) & 3), "position": lambda a: bool(_bits(a) & 4)},
    "siren": {"volume": lambda a: bool(_bits(a) & 8), "duration": lambda a: bool(_bits(a) & 16)},
    "climate": {
        "current_temperature": lambda a: "current_temperature" in a,
        "target_temperature": lambda a: bool(_bits(a) & 1),
        "modes": lambda a: isinstance(a.get("hvac_modes"), list),
    },
}


def features_of(domain: str, attrs: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(name for name, test in FEATURE_TESTS.get(domain, {}).items() if test(attrs))


# ---------------------------------------------------------------- commands


ServiceData = Callable[[Mapping[str, Any]], dict[str, Any]]


def _none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def _transition(params: Mapping[str, Any]) -> dict[str, Any]:
    t = params.get("transition_time")
    return {"transition": t} if t is not None else {}


def _pick(**names: str) -> ServiceData:
    """Service data from DHI params renamed (``brightness_pct=level``), transition kept."""
    return lambda p: {ha: p[dhi] for ha, dhi in names.items() if dhi in p} | _transition(p)


@dataclass(frozen=True)
class CommandRow:
    """A DHI command (or ``set:<property>``) of a capability on an HA domain -> a service call
    (``service`` may depend on the parameters: a fan's mode is turn_off, turn_on or a preset)."""

    domain: str
    capability: str
    command: str
    service: str | Callable[[Mapping[str, Any]], str]
    data: ServiceData = _none
    feature: str | None = None

    def service_for(self, params: Mapping[str, Any]) -> str:
        return self.service if isinstance(self.service, str) else self.service(params)


def _fan_service(p: Mapping[str, Any]) -> str:
    mode = p["mode"]
    return {"off": "turn_off", "on": "turn_on"}.get(mode, "set_preset_mode")


def _fan_preset(p: Mapping[str, Any]) -> dict[str, Any]:
    mode = p["mode"]
    if mode in ("off", "on"):
        return {}
    if mode not in FAN_PRESET_MODES:
        raise ConversionError(f"mode {mode!r} is not a preset mode of this fan")
    return {"preset_mode": mode}


def _valve_open(p: Mapping[str, Any]) -> dict[str, Any]:
    if "duration" in p:
        raise ConversionError("Home Assistant's valves open without a duration (no DHI duration)")
    return {"position": p["level"]} if "level" in p else {}


#: DHI siren volumes as HA's volume_level (0 … 1)
SIREN_VOLUMES = {"low": 0.25, "medium": 0.5, "high": 0.75, "very_high": 1.0}


def _siren_start(p: Mapping[str, Any]) -> dict[str, Any]:
    if "mode" in p or p.get("strobe"):
        raise ConversionError(
            "Home Assistant's siren takes no DHI alarm mode or strobe (its tones are the device's own)"
        )
    out: dict[str, Any] = {"duration": p["duration"]} if "duration" in p else {}
    if "volume" in p:
        out["volume_level"] = SIREN_VOLUMES[p["volume"]]
    return out


COMMANDS: tuple[CommandRow, ...] = (
    CommandRow("light", "dhi.on_off", "on", "turn_on"),
    CommandRow("light", "dhi.on_off", "off", "turn_off"),
    CommandRow("light", "dhi.on_off", "toggle", "toggle"),
    CommandRow("light", "dhi.level", "set_level", "turn_on", _pick(brightness_pct="level"), "brightness"),
    CommandRow("light", "dhi.level", "set:level", "turn_on", _pick(brightness_pct="level"), "brightness"),
    CommandRow("light", "dhi.color_temperature", "set_color_temperature", "turn_on",
               _pick(color_temp_kelvin="color_temperature"), "color_temp"),
    CommandRow("light", "dhi.color_temperature", "set:color_temperature", "turn_on",
               _pick(color_temp_kelvin="color_temperature"), "color_temp"),
    CommandRow("light", "dhi.color", "set_hs", "turn_on",
               lambda p: {"hs_color": [p["hue"], p["saturation"]]} | _transition(p), "hs"),
    CommandRow("light", "dhi.color", "set_xy", "turn_on",
               lambda p: {"xy_color": [p["x"], p["y"]]} | _transition(p), "xy"),
    CommandRow("switch", "dhi.on_off", "on", "turn_on"),
    CommandRow("switch", "dhi.on_off", "off", "turn_off"),
    CommandRow("switch", "dhi.on_off", "toggle", "toggle"),
    CommandRow("cover", "dhi.window_covering", "open", "open_cover", feature="open_close"),
    CommandRow("cover", "dhi.window_covering", "close", "close_cover", feature="open_close"),
    CommandRow("cover", "dhi.window_covering", "stop", "stop_cover", feature="stop"),
    CommandRow("cover", "dhi.window_covering", "set_position", "set_cover_position", _pick(position="position"), "position"),
    CommandRow("cover", "dhi.window_covering", "set:position", "set_cover_position", _pick(position="position"), "position"),
    CommandRow("cover", "dhi.window_covering", "set_tilt", "set_cover_tilt_position", _pick(tilt_position="tilt"), "tilt"),
    CommandRow("lock", "dhi.lock", "lock", "lock", _pick(code="pin_code")),
    CommandRow("lock", "dhi.lock", "unlock", "unlock", _pick(code="pin_code")),
    CommandRow("lock", "dhi.lock", "unbolt", "open", _pick(code="pin_code"), "open"),
    CommandRow("climate", "dhi.thermostat", "set:heating_setpoint", "set_temperature",
               _pick(temperature="heating_setpoint"), "target_temperature"),
    CommandRow("climate", "dhi.thermostat", "set:system_mode", "set_hvac_mode",
               lambda p: {"hvac_mode": HVAC_MODES.back(p["system_mode"])}, "modes"),
    CommandRow("fan", "dhi.fan", "set:mode", _fan_service, _fan_preset),
    CommandRow("fan", "dhi.fan", "set:speed", "set_percentage", _pick(percentage="speed"), "percentage"),
    CommandRow("fan", "dhi.fan", "set:oscillation", "oscillate", _pick(oscillating="oscillation"), "oscillation"),
    CommandRow("fan", "dhi.fan", "set:direction", "set_direction", _pick(direction="direction"), "direction"),
    CommandRow("fan", "dhi.fan", "step",
               lambda p: "increase_speed" if p.get("direction") == "increase" else "decrease_speed", feature="percentage"),
    CommandRow("valve", "dhi.valve", "open", lambda p: "set_valve_position" if "level" in p else "open_valve",
               _valve_open, "open_close"),
    CommandRow("valve", "dhi.valve", "close", "close_valve", feature="open_close"),
    CommandRow("siren", "dhi.siren", "start", "turn_on", _siren_start),
    CommandRow("siren", "dhi.siren", "stop", "turn_off"),
)  # fmt: skip


#: HA event types (integrations name their own) -> the DHI event of the entity's capability and
#: its payload; a DHI name stands for itself. Types not here and not DHI names are counted, not
#: guessed (Hue's initial_press and repeat come with a short_release / long_press that is mapped).
type _Event = tuple[str, dict[str, Any]]
_PRESSED: _Event = ("pressed", {})
_DOUBLE: _Event = ("double_pressed", {})
_LONG: _Event = ("long_pressed", {})
_RELEASED: _Event = ("released", {})
EVENT_TYPES: dict[str, _Event] = {
    "press": _PRESSED, "single": _PRESSED, "single_press": _PRESSED, "short_press": _PRESSED,
    "short_release": _PRESSED, "click": _PRESSED, "ring": _PRESSED,
    "double": _DOUBLE, "double_press": _DOUBLE, "double_short_release": _DOUBLE, "double_click": _DOUBLE,
    "triple": ("multi_pressed", {"count": 3}), "triple_press": ("multi_pressed", {"count": 3}),
    "quadruple": ("multi_pressed", {"count": 4}),
    "long": _LONG, "long_press": _LONG, "hold": _LONG,
    "release": _RELEASED, "long_release": _RELEASED,
}  # fmt: skip


def dhi_event(ha_type: str, events: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
    """The DHI event (name, payload) an HA event type is among the capability's ``events``;
    None: none fits."""
    name, payload = EVENT_TYPES.get(ha_type, (ha_type, {}))
    return (name, dict(payload)) if name in events else None


#: simple platforms: writing the entity's one property is this service with this data
WRITES: dict[str, tuple[Callable[[Any], str], Callable[[Any], dict[str, Any]]]] = {
    "switch": (lambda v: "turn_on" if v else "turn_off", lambda v: {}),
    "input_boolean": (lambda v: "turn_on" if v else "turn_off", lambda v: {}),
    "number": (lambda v: "set_value", lambda v: {"value": v}),
    "select": (lambda v: "select_option", lambda v: {"option": v}),
    "text": (lambda v: "set_value", lambda v: {"value": v}),
}


def command_rows(domain: str, capability: str, features: frozenset[str]) -> list[CommandRow]:
    return [
        r
        for r in COMMANDS
        if r.domain == domain and r.capability == capability and (r.feature is None or r.feature in features)
    ]
