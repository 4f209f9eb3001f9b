"""Tasmota -> DHI mapping tables.

Sources (public): Tasmota's discovery message (``TasDiscoverMessage`` in
``tasmota/tasmota_xdrv_driver/xdrv_12_discovery.ino``: ``rl`` relay types, ``lt_st`` light
subtype, ``btn``, ``swc``, ``so``), the Tasmota documentation pages "Commands" (``Power<x>``,
``Dimmer``, ``CT``, ``HSBColor``, ``ShutterOpen/Close/Stop/Position<x>``), "MQTT" (``tele/``,
``stat/``, ``cmnd/`` prefixes, ``LWT``) and the sensor JSON of ``tele/<topic>/SENSOR``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.mqtt.describe import vendor_property
from adapters.sdk import Converter, bool_map, identity, kelvin_from_mireds, scale
from adapters.sdk.convert import ConversionError
from hub.models import PropertyDef
from hub.models.catalog import ValueType

ON_OFF = bool_map("ON", "OFF")

#: ``rl`` entries (relay types in the discovery config)
RELAY_KINDS = {1: "relay", 2: "light", 3: "shutter"}


@dataclass(frozen=True)
class LightRow:
    """What a light subtype (``lt_st``) can do."""

    subtype: int
    capabilities: tuple[str, ...]


LIGHTS: tuple[LightRow, ...] = (
    LightRow(1, ("dhi.on_off", "dhi.level")),  # single channel dimmer
    LightRow(2, ("dhi.on_off", "dhi.level", "dhi.color_temperature")),  # cold/warm white
    LightRow(3, ("dhi.on_off", "dhi.level", "dhi.color")),  # RGB
    LightRow(4, ("dhi.on_off", "dhi.level", "dhi.color")),  # RGBW
    LightRow(5, ("dhi.on_off", "dhi.level", "dhi.color", "dhi.color_temperature")),  # RGBCW
)


#: light capability -> (the Tasmota feature behind it, DHI properties it fills)
LIGHT_FEATURES: dict[str, tuple[str, ...]] = {
    "dhi.on_off": ("POWER{n}", "on"),
    "dhi.level": ("Dimmer", "level"),
    "dhi.color_temperature": ("CT", "color_temperature"),
    "dhi.color": ("HSBColor", "hue", "saturation"),
}


def _hsb(index: int, scale_: float) -> Converter:
    """One part of ``HSBColor`` "h,s,b" (hue 0..360, sat 0..100)."""

    def to_hub(v: Any) -> Any:
        if not isinstance(v, str):
            raise ConversionError(f"expected 'h,s,b', got {type(v).__name__}")
        parts = v.split(",")
        if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
            raise ConversionError(f"expected 'h,s,b' integers, got {v!r}")
        return int(parts[index]) * scale_

    return Converter(to_hub, None, f"hsb[{index}]")


@dataclass(frozen=True)
class StateRow:
    """A key of ``tele/<t>/STATE`` / ``stat/<t>/RESULT`` -> a light or device property."""

    key: str
    target: str  # "light" or "main"
    capability: str
    property: str
    convert: Converter = identity
    needs: str | None = None  # capability the light must have for this row


STATE_FIELDS: tuple[StateRow, ...] = (
    StateRow("Dimmer", "light", "dhi.level", "level"),
    StateRow("CT", "light", "dhi.color_temperature", "color_temperature", kelvin_from_mireds),
    StateRow("HSBColor", "light", "dhi.color", "hue", _hsb(0, 1), needs="dhi.color"),
    StateRow("HSBColor", "light", "dhi.color", "saturation", _hsb(1, 1), needs="dhi.color"),
    StateRow("UptimeSec", "main", "dhi.diagnostics", "uptime"),
    StateRow("Wifi.Signal", "main", "dhi.connectivity", "rssi"),
)

#: STATE keys that are bookkeeping, not features
STATE_IGNORED = frozenset(
    {"Time", "Uptime", "Heap", "SleepMode", "Sleep", "LoadAvg", "MqttCount", "Color", "White", "Channel", "Fade",
     "Speed", "LedTable", "Scheme", "Width", "Berry", "Vcc"}
)  # fmt: skip


def _f_to_c(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConversionError(f"expected a number, got {type(v).__name__}")
    return round((v - 32) * 5 / 9, 2)


def _mmhg_to_hpa(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConversionError(f"expected a number, got {type(v).__name__}")
    return round(v * 1.333224, 2)


@dataclass(frozen=True)
class SensorRow:
    """A quantity inside a ``tele/<t>/SENSOR`` sensor object (any sensor name)."""

    key: str
    capability: str
    property: str
    convert: Converter = identity
    vendor: PropertyDef | None = None
    #: unit key of the SENSOR message -> converter for non-SI settings (TempUnit "F" …)
    unit_key: str | None = None
    units: tuple[tuple[str, Callable[[Any], Any]], ...] = ()


_TEMP_UNITS = (("F", _f_to_c),)
SENSOR_FIELDS: tuple[SensorRow, ...] = (
    SensorRow("Temperature", "dhi.temperature", "temperature", unit_key="TempUnit", units=_TEMP_UNITS),
    SensorRow("Humidity", "dhi.humidity", "humidity"),
    SensorRow("DewPoint", "dhi.humidity", "dew_point", unit_key="TempUnit", units=_TEMP_UNITS),
    SensorRow("Pressure", "dhi.pressure", "pressure", unit_key="PressureUnit", units=(("mmHg", _mmhg_to_hpa),)),
    SensorRow("SeaPressure", "x.tasmota.sea_level_pressure", "pressure",
              vendor=vendor_property("pressure", ValueType.NUMBER, unit="hPa", minimum=0),
              unit_key="PressureUnit", units=(("mmHg", _mmhg_to_hpa),)),
    SensorRow("Illuminance", "dhi.illuminance", "illuminance"),
    SensorRow("CarbonDioxide", "dhi.co2", "co2"),
    SensorRow("eCO2", "dhi.co2", "co2"),
    SensorRow("PM1", "dhi.pm1", "pm1"),
    SensorRow("PM2.5", "dhi.pm25", "pm25"),
    SensorRow("PM10", "dhi.pm10", "pm10"),
    SensorRow("Power", "dhi.power", "power"),
    SensorRow("ApparentPower", "dhi.power", "apparent_power"),
    SensorRow("ReactivePower", "dhi.power", "reactive_power"),
    SensorRow("Factor", "dhi.power_factor", "power_factor"),
    SensorRow("Voltage", "dhi.voltage", "voltage"),
    SensorRow("Current", "dhi.current", "current"),
    SensorRow("Frequency", "dhi.ac_frequency", "frequency"),
    SensorRow("Total", "dhi.energy", "energy"),  # kWh already
    SensorRow("Today", "dhi.energy", "energy_today"),
    SensorRow("Yesterday", "x.tasmota.energy_yesterday", "energy",
              vendor=vendor_property("energy", ValueType.NUMBER, unit="kW.h", minimum=0, label="energy yesterday")),
    SensorRow("Distance", "x.tasmota.distance", "distance", scale(0.01),  # cm -> m
              vendor=vendor_property("distance", ValueType.NUMBER, unit="m", minimum=0)),
    # ppb -> ppm; ppb cannot become the catalog's ug/m3 without the gas's molar mass
    SensorRow("TVOC", "x.tasmota.tvoc", "tvoc", scale(0.001),
              vendor=vendor_property("tvoc", ValueType.NUMBER, unit="[ppm]", minimum=0, label="TVOC")),
)  # fmt: skip

#: keys of a sensor object that are bookkeeping
SENSOR_IGNORED = frozenset({"TotalStartTime", "Id", "Period", "CF1", "CF2.5", "CF10", "PB0.3", "PB0.5", "PB1",
                            "PB2.5", "PB5", "PB10"})  # fmt: skip
#: top-level SENSOR keys that are not sensors
SENSOR_META = frozenset({"Time", "TempUnit", "PressureUnit", "SpeedUnit", "Shutter1", "Shutter2", "Shutter3",
                         "Shutter4"})  # fmt: skip

#: Shutter<n> object in SENSOR/RESULT
SHUTTER_DIRECTION = {1: "opening", -1: "closing", 0: "stopped"}

#: Button<n> actions (SetOption73 1: decoupled buttons report actions)
BUTTON_ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "SINGLE": ("pressed", {}),
    "DOUBLE": ("double_pressed", {}),
    "TRIPLE": ("multi_pressed", {"count": 3}),
    "QUAD": ("multi_pressed", {"count": 4}),
    "PENTA": ("multi_pressed", {"count": 5}),
    "HOLD": ("long_pressed", {}),
}

SWITCH_VENDOR = vendor_property("state", ValueType.BOOLEAN, label="switch input closed")


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class CommandRow:
    """A DHI command on a part -> ``cmnd/<t>/<Command>`` with a payload; ``confirm`` are the
    RESULT keys that acknowledge it (``{n}`` is the relay/shutter number)."""

    kind: str  # relay | light | shutter
    capability: str
    command: str  # catalog command or "set:<property>"
    tasmota: str
    payload: Callable[[dict[str, Any]], str]
    confirm: tuple[str, ...]


def _num(key: str, convert: Callable[[Any], Any] = round) -> Callable[[dict[str, Any]], str]:
    return lambda p: str(convert(p[key]))


_POWER_PAYLOADS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("on", lambda p: "ON"),
    ("off", lambda p: "OFF"),
    ("toggle", lambda p: "TOGGLE"),
    ("set:on", lambda p: "ON" if p["on"] else "OFF"),
)

#: Rows with the same (kind, capability, command) are sent in order (set_hs = hue, then saturation).
COMMANDS: tuple[CommandRow, ...] = (
    *(
        CommandRow(kind, "dhi.on_off", cmd, "POWER{n}", payload, ("POWER{n}", "POWER"))
        for kind in ("relay", "light")
        for cmd, payload in _POWER_PAYLOADS
    ),
    CommandRow("light", "dhi.level", "set_level", "Dimmer", _num("level"), ("Dimmer",)),
    CommandRow("light", "dhi.level", "set:level", "Dimmer", _num("level"), ("Dimmer",)),
    CommandRow("light", "dhi.color_temperature", "set_color_temperature", "CT",
               _num("color_temperature", lambda k: min(max(round(1_000_000 / k), 153), 500)), ("CT",)),
    CommandRow("light", "dhi.color_temperature", "set:color_temperature", "CT",
               _num("color_temperature", lambda k: min(max(round(1_000_000 / k), 153), 500)), ("CT",)),
    CommandRow("light", "dhi.color", "set_hs", "HSBColor1", lambda p: str(round(p["hue"]) % 360), ("HSBColor",)),
    CommandRow("light", "dhi.color", "set_hs", "HSBColor2", lambda p: str(round(p["saturation"])), ("HSBColor",)),
    CommandRow("shutter", "dhi.window_covering", "open", "ShutterOpen{n}", lambda p: "", ("ShutterOpen{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "close", "ShutterClose{n}", lambda p: "", ("ShutterClose{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "stop", "ShutterStop{n}", lambda p: "", ("ShutterStop{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "set_position", "ShutterPosition{n}", _num("position"),
               ("ShutterPosition{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "set:position", "ShutterPosition{n}", _num("position"),
               ("ShutterPosition{n}", "Shutter{n}")),
)  # fmt: skip


def commands_of(kind: str, capability: str) -> list[str]:
    return [
        r.command for r in COMMANDS if r.kind == kind and r.capability == capability and ":" not in r.command
    ]
