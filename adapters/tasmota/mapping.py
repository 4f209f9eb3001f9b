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

from adapters.sdk import Converter, bool_map, enum_map, identity, kelvin_from_mireds, scale
from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt.describe import vendor_property
from dhi.models import PropertyDef
from dhi.models.catalog import ValueType

ON_OFF = bool_map("ON", "OFF")

#: colour temperature range of a light in mireds: Tasmota's default, and SetOption82's
#: reduced range (200..380, for Alexa)
MIREDS = (153, 500)
MIREDS_REDUCED = (200, 380)


@dataclass(frozen=True)
class Part:
    """Where a DHI component comes from, and how its commands are spelled."""

    kind: str  # relay | light | shutter | button | switch | fan
    number: int  # 1-based Tasmota index (POWER<n>, Shutter<n>, Button<n>, Switch<n>)
    #: light: STATE key of its brightness (Dimmer, Dimmer1/2 for a split RGB+white light,
    #: Channel<n> with SetOption68) and the command that sets it (Dimmer3 on Tuya dimmers)
    level_state: str = "Dimmer"
    level_command: str = "Dimmer"
    mireds: tuple[int, int] = MIREDS
    #: shutter with ``sho`` bit 0: Tasmota counts 0 = open, DHI 100 = open
    inverted: bool = False


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
    "dhi.level": ("{level}", "level"),
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
    """A key of ``tele/<t>/STATE`` / ``stat/<t>/RESULT`` -> a property of every part of
    ``target`` that declares ``capability`` ("main": the device itself). ``{level}`` is the
    light's own brightness key (``Dimmer``, ``Dimmer1``, ``Channel3``)."""

    key: str
    target: str  # "light", "fan" or "main"
    capability: str
    property: str
    convert: Converter = identity
    skip: tuple[Any, ...] = ()  # values that mean "not present"


STATE_FIELDS: tuple[StateRow, ...] = (
    StateRow("{level}", "light", "dhi.level", "level"),
    StateRow("CT", "light", "dhi.color_temperature", "color_temperature", kelvin_from_mireds),
    StateRow("HSBColor", "light", "dhi.color", "hue", _hsb(0, 1)),
    StateRow("HSBColor", "light", "dhi.color", "saturation", _hsb(1, 1)),
    StateRow("FanSpeed", "fan", "dhi.fan", "mode", enum_map({0: "off", 1: "low", 2: "medium", 3: "high"})),
    StateRow("FanSpeed", "fan", "dhi.fan", "speed_level"),
    StateRow("UptimeSec", "main", "dhi.diagnostics", "uptime"),
    StateRow("Wifi.Signal", "main", "dhi.connectivity", "rssi"),
    # 101 is Tasmota's "mains powered" default of BatteryPercentage
    StateRow("BatteryPercentage", "main", "dhi.battery", "percentage", skip=(101,)),
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
    #: what the entries of a list value are: phases of a meter (``Voltage: [230, 231, 229]``,
    #: components ``<sensor>_phase_<n>``) or tariffs (``TotalTariff: [t1, t2]``)
    series: str = "phase"
    #: an object value whose keys are statistics of one quantity (TX23 ``Speed: {Act, Avg,
    #: Min, Max}``): key -> vendor property of ``capability``
    nested: tuple[tuple[str, PropertyDef], ...] = ()


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
    SensorRow("Battery", "dhi.battery", "percentage"),
    SensorRow("Ambient", "dhi.illuminance", "illuminance"),  # APDS9960 ambient light (lx)
    SensorRow("ActivePower", "dhi.power", "power"),
    SensorRow("CurrentNeutral", "x.tasmota.neutral_current", "current",
              vendor=vendor_property("current", ValueType.NUMBER, unit="A", minimum=0, label="neutral current")),
    # load cells (HX711): kg is not in units.yaml, so the unit is named in the label
    SensorRow("Weight", "x.tasmota.weight", "weight",
              vendor=vendor_property("weight", ValueType.NUMBER, label="weight (kg)")),
    SensorRow("CCT", "x.tasmota.color_sensor", "cct",
              vendor=vendor_property("cct", ValueType.NUMBER, unit="K", minimum=0, label="correlated colour temperature")),
    *(SensorRow(key, "x.tasmota.color_sensor", key.lower(),
                vendor=vendor_property(key.lower(), ValueType.NUMBER, minimum=0, label=f"{key.lower()} (raw count)"))
      for key in ("Red", "Green", "Blue")),
    SensorRow("Proximity", "x.tasmota.proximity", "proximity",
              vendor=vendor_property("proximity", ValueType.NUMBER, minimum=0, label="proximity (raw)")),
    SensorRow("Moisture", "dhi.soil_moisture", "moisture"),
    # energy: direction has its own property, a bidirectional meter is an electricity meter
    SensorRow("Energy", "dhi.energy", "energy"),  # CTEnergy<n> and other plain counters
    SensorRow("ImportActive", "dhi.electricity_meter", "imported_energy"),
    SensorRow("ExportActive", "dhi.electricity_meter", "exported_energy"),
    SensorRow("TotalTariff", "dhi.energy", "energy", series="tariff"),
    SensorRow("ExportTariff", "dhi.energy", "produced_energy", series="tariff"),
    # reactive energy (kvarh) has no unit in units.yaml: vendor properties, unit in the label
    SensorRow("ImportReactive", "x.tasmota.reactive_energy", "imported",
              vendor=vendor_property("imported", ValueType.NUMBER, minimum=0, label="reactive energy imported (kvarh)")),
    SensorRow("ExportReactive", "x.tasmota.reactive_energy", "exported",
              vendor=vendor_property("exported", ValueType.NUMBER, minimum=0, label="reactive energy exported (kvarh)")),
    SensorRow("PhaseAngle", "x.tasmota.phase_angle", "angle",
              vendor=vendor_property("angle", ValueType.NUMBER, unit="deg", label="phase angle")),
    # ANALOG A<n>: the raw ADC reading of pin n
    SensorRow("A", "x.tasmota.analog", "value",
              vendor=vendor_property("value", ValueType.NUMBER, label="analog input (raw)")),
    # TX23 anemometer: SpeedUnit is the device's (km/h, m/s, …); no unit of units.yaml fits all
    SensorRow("Speed", "x.tasmota.wind_speed", "speed", nested=tuple(
        (k, vendor_property(n, ValueType.NUMBER, minimum=0, label=f"wind speed {t} (SpeedUnit)"))
        for k, n, t in (("Act", "speed", "now"), ("Avg", "average", "average"), ("Min", "minimum", "minimum"),
                        ("Max", "maximum", "maximum")))),
    SensorRow("Dir", "x.tasmota.wind_direction", "degrees", nested=(
        ("Card", vendor_property("cardinal", ValueType.STRING, label="wind direction (compass point)")),
        ("Deg", vendor_property("degrees", ValueType.NUMBER, unit="deg", minimum=0, maximum=360,
                                label="wind direction")),
        ("Avg", vendor_property("average", ValueType.NUMBER, unit="deg", minimum=0, maximum=360,
                                label="wind direction average")),
        ("AvgCard", vendor_property("average_cardinal", ValueType.STRING, label="wind direction average (compass point)")),
        ("Min", vendor_property("minimum", ValueType.NUMBER, unit="deg", minimum=0, maximum=360,
                                label="wind direction minimum")),
        ("Max", vendor_property("maximum", ValueType.NUMBER, unit="deg", minimum=0, maximum=360,
                                label="wind direction maximum")),
        ("Range", vendor_property("range", ValueType.NUMBER, unit="deg", minimum=0, maximum=360,
                                  label="wind direction range")),
    )),
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


@dataclass(frozen=True)
class SwitchRow:
    """A switch input mode (``swc``, SwitchMode) whose state is a sensor, not a switch:
    follow modes are a contact (a reed switch: ON = circuit closed), push-on modes a PIR."""

    capability: str
    property: str


SWITCH_MODES: dict[int, SwitchRow] = {
    1: SwitchRow("dhi.contact", "contact"),  # follow
    2: SwitchRow("dhi.contact", "contact"),  # follow, inverted by the device
    13: SwitchRow("dhi.motion", "motion"),  # push-on (PIR)
    14: SwitchRow("dhi.motion", "motion"),  # push-on, inverted by the device
}

#: iFan: ``FanSpeed`` 0 (off) .. 3 (high)
FAN_SPEEDS = 3


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class CommandRow:
    """A DHI command on a part -> ``cmnd/<t>/<Command>`` with a payload; ``confirm`` are the
    RESULT keys that acknowledge it. In both, ``{n}`` is the part's number and ``{level}`` /
    ``{level_state}`` its brightness command / STATE key."""

    kind: str  # relay | light | shutter | fan
    capability: str
    command: str  # catalog command or "set:<property>"
    tasmota: str
    payload: Callable[[dict[str, Any], Part], str]
    confirm: tuple[str, ...]


def _num(key: str, convert: Callable[[Any], Any] = round) -> Callable[[dict[str, Any], Part], str]:
    return lambda p, part: str(convert(p[key]))


def _mireds(params: dict[str, Any], part: Part) -> str:
    lo, hi = part.mireds
    return str(min(max(round(1_000_000 / params["color_temperature"]), lo), hi))


def _position(params: dict[str, Any], part: Part) -> str:
    position = round(params["position"])
    return str(100 - position if part.inverted else position)


def _fan_mode(params: dict[str, Any], part: Part) -> str:
    return str(["off", "low", "medium", "high"].index(params["mode"]))


_POWER_PAYLOADS: tuple[tuple[str, Callable[[dict[str, Any], Part], str]], ...] = (
    ("on", lambda p, part: "ON"),
    ("off", lambda p, part: "OFF"),
    ("toggle", lambda p, part: "TOGGLE"),
    ("set:on", lambda p, part: "ON" if p["on"] else "OFF"),
)
_EMPTY: Callable[[dict[str, Any], Part], str] = lambda p, part: ""  # noqa: E731

#: Rows with the same (kind, capability, command) are sent in order (set_hs = hue, then saturation).
COMMANDS: tuple[CommandRow, ...] = (
    *(
        CommandRow(kind, "dhi.on_off", cmd, "POWER{n}", payload, ("POWER{n}", "POWER"))
        for kind in ("relay", "light")
        for cmd, payload in _POWER_PAYLOADS
    ),
    CommandRow("light", "dhi.level", "set_level", "{level}", _num("level"), ("{level_state}",)),
    CommandRow("light", "dhi.level", "set:level", "{level}", _num("level"), ("{level_state}",)),
    CommandRow("light", "dhi.color_temperature", "set_color_temperature", "CT", _mireds, ("CT",)),
    CommandRow("light", "dhi.color_temperature", "set:color_temperature", "CT", _mireds, ("CT",)),
    CommandRow("light", "dhi.color", "set_hs", "HSBColor1", lambda p, part: str(round(p["hue"]) % 360), ("HSBColor",)),
    CommandRow("light", "dhi.color", "set_hs", "HSBColor2", lambda p, part: str(round(p["saturation"])), ("HSBColor",)),
    CommandRow("shutter", "dhi.window_covering", "open", "ShutterOpen{n}", _EMPTY, ("ShutterOpen{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "close", "ShutterClose{n}", _EMPTY, ("ShutterClose{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "stop", "ShutterStop{n}", _EMPTY, ("ShutterStop{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "set_position", "ShutterPosition{n}", _position,
               ("ShutterPosition{n}", "Shutter{n}")),
    CommandRow("shutter", "dhi.window_covering", "set:position", "ShutterPosition{n}", _position,
               ("ShutterPosition{n}", "Shutter{n}")),
    CommandRow("fan", "dhi.fan", "set:mode", "FanSpeed", _fan_mode, ("FanSpeed",)),
    CommandRow("fan", "dhi.fan", "set:speed_level", "FanSpeed", _num("speed_level"), ("FanSpeed",)),
)  # fmt: skip


def commands_of(kind: str, capability: str) -> list[str]:
    return [
        r.command for r in COMMANDS if r.kind == kind and r.capability == capability and ":" not in r.command
    ]
