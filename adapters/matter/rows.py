"""The mapping tables: Matter clusters -> DHI capabilities, one :class:`Row` per capability.

Ids are the Matter Application Cluster Library's; DHI ids, property names and units are
the catalog's (``spec/interface/catalog``). Rows for the same cluster are tried in order —
the specific ones (device type, feature bits) before the generic ones — and the first
row that matches wins a capability on an endpoint. A comment says why a quirk row exists.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final

from adapters.matter import convert as cv
from adapters.matter.node import Endpoint
from adapters.matter.rows_extra import EXTRA_ROWS, PUMP_LEVEL_ROWS
from adapters.matter.schema import OMIT, WRITE, Arg, Cmd, Evt, Prop, Row, Via, ViaBool, simple_event
from adapters.sdk.convert import ConversionError, Converter
from dhi.models.catalog import Access, CapabilityDef, Labels, PropertyDef, ValueType

# ---------------------------------------------------------------- device types (Device Library)
ROOT_NODE: Final = 0x0016
POWER_SOURCE_DT: Final = 0x0011
OTA_REQUESTOR_DT: Final = 0x0012
BRIDGED_NODE: Final = 0x0013
OTA_PROVIDER_DT: Final = 0x0014
AGGREGATOR: Final = 0x000E
ELECTRICAL_SENSOR: Final = 0x0510
DEVICE_ENERGY_MANAGEMENT: Final = 0x050D
SECONDARY_NETWORK_INTERFACE: Final = 0x0019
CONTACT_SENSOR: Final = 0x0015
WATER_FREEZE_DETECTOR: Final = 0x0041
WATER_LEAK_DETECTOR: Final = 0x0043
RAIN_SENSOR: Final = 0x0044

#: device types that describe how a node is built, not what an endpoint does for the home
UTILITY_DEVICE_TYPES: Final[frozenset[int]] = frozenset(
    {
        ROOT_NODE,
        POWER_SOURCE_DT,
        OTA_REQUESTOR_DT,
        OTA_PROVIDER_DT,
        BRIDGED_NODE,
        AGGREGATOR,
        ELECTRICAL_SENSOR,
        DEVICE_ENERGY_MANAGEMENT,
        SECONDARY_NETWORK_INTERFACE,
    }
)

DEVICE_TYPE_NAMES: Final[dict[int, str]] = {
    0x000A: "Door Lock",
    0x000B: "Door Lock Controller",
    0x000E: "Aggregator",
    0x000F: "Generic Switch",
    0x0011: "Power Source",
    0x0012: "OTA Requestor",
    0x0013: "Bridged Node",
    0x0014: "OTA Provider",
    0x0015: "Contact Sensor",
    0x0016: "Root Node",
    0x0017: "Solar Power",
    0x0018: "Battery Storage",
    0x0019: "Secondary Network Interface",
    0x0022: "Speaker",
    0x0023: "Casting Video Player",
    0x0024: "Content App",
    0x0027: "Mode Select",
    0x0028: "Basic Video Player",
    0x0029: "Casting Video Client",
    0x002A: "Video Remote Control",
    0x002B: "Fan",
    0x002C: "Air Quality Sensor",
    0x002D: "Air Purifier",
    0x0041: "Water Freeze Detector",
    0x0042: "Water Valve",
    0x0043: "Water Leak Detector",
    0x0044: "Rain Sensor",
    0x0045: "Soil Sensor",
    0x0070: "Refrigerator",
    0x0071: "Temperature Controlled Cabinet",
    0x0072: "Room Air Conditioner",
    0x0073: "Laundry Washer",
    0x0074: "Robotic Vacuum Cleaner",
    0x0075: "Dishwasher",
    0x0076: "Smoke CO Alarm",
    0x0077: "Cook Surface",
    0x0078: "Cooktop",
    0x0079: "Microwave Oven",
    0x007A: "Extractor Hood",
    0x007B: "Oven",
    0x007C: "Laundry Dryer",
    0x0090: "Network Infrastructure Manager",
    0x0091: "Thread Border Router",
    0x0100: "On/Off Light",
    0x0101: "Dimmable Light",
    0x0103: "On/Off Light Switch",
    0x0104: "Dimmer Switch",
    0x0105: "Color Dimmer Switch",
    0x0106: "Light Sensor",
    0x0107: "Occupancy Sensor",
    0x010A: "On/Off Plug-in Unit",
    0x010B: "Dimmable Plug-in Unit",
    0x010C: "Color Temperature Light",
    0x010D: "Extended Color Light",
    0x010F: "Mounted On/Off Control",
    0x0110: "Mounted Dimmable Load Control",
    0x0202: "Window Covering",
    0x0203: "Window Covering Controller",
    0x0300: "Heating/Cooling Unit",
    0x0301: "Thermostat",
    0x0302: "Temperature Sensor",
    0x0303: "Pump",
    0x0304: "Pump Controller",
    0x0305: "Pressure Sensor",
    0x0306: "Flow Sensor",
    0x0307: "Humidity Sensor",
    0x0309: "Heat Pump",
    0x050C: "EVSE",
    0x050D: "Device Energy Management",
    0x050F: "Water Heater",
    0x0510: "Electrical Sensor",
    0x0840: "Control Bridge",
    0x0850: "On/Off Sensor",
}


def device_type_name(device_type: int) -> str:
    return DEVICE_TYPE_NAMES.get(device_type, f"device type 0x{device_type:04X}")


UINT16: Final = cv.uint(0, 0xFFFF)
MILLISECONDS: Final = cv.scaled(0.001, digits=3, vendor_range=(0, 0xFFFFFFFF), name="milliseconds")
UINT32: Final = cv.uint(0, 0xFFFFFFFF)

# ---------------------------------------------------------------- shared command arguments
NO_OPTIONS: Final = (Arg("optionsMask", default=0), Arg("optionsOverride", default=0))
TRANSITION: Final = Arg("transitionTime", "transition_time", cv.DECI_SECONDS, default=0)
DIRECTION_UP_DOWN: Final = cv.enum({0: "up", 1: "down"}, name="direction")


def _pct_units(step: float) -> Converter:
    """Percentage points -> Level Control units (0..254 scale), at least one unit."""
    return Converter(
        lambda v: v, lambda v: max(1, min(254, round(float(v) * 254 / 100))), f"pct_units({step})"
    )


PCT_UNITS: Final = _pct_units(1)


def _startup_on_off(v: Any) -> str:
    # StartUpOnOffEnum; null means "restore the previous state"
    if v is None:
        return "previous"
    names = {0: "off", 1: "on", 2: "toggle"}
    if not isinstance(v, int) or isinstance(v, bool) or v not in names:
        raise ConversionError(f"StartUpOnOff {v!r} is not one of {sorted(names)} or null")
    return names[v]


def _startup_on_off_back(v: Any) -> int | None:
    table = {"off": 0, "on": 1, "toggle": 2, "previous": None}
    if v not in table:
        raise ConversionError(f"power-on behaviour {v!r} is not one of {list(table)}")
    return table[v]


STARTUP_ON_OFF: Final = Converter(_startup_on_off, _startup_on_off_back, "startup_on_off")

# ---------------------------------------------------------------- lighting & control

ON_OFF_ROWS: Final = [
    Row(
        "dhi.on_off",
        0x0006,
        props=(Prop(0x0000, "on", cv.BOOL, ViaBool("on", "off")),),
        commands=(Cmd("off", "Off", 0x00), Cmd("on", "On", 0x01), Cmd("toggle", "Toggle", 0x02)),
    ),
    Row("dhi.power_on_behavior", 0x0006, props=(Prop(0x4003, "behavior", STARTUP_ON_OFF, WRITE),)),
]

LEVEL_ROWS: Final = [
    Row(
        "dhi.level",
        0x0008,
        props=(
            Prop(0x0000, "level", cv.LEVEL, Via("set_level", "level")),
            Prop(0x0002, "min_level", cv.LEVEL),
            Prop(0x0003, "max_level", cv.LEVEL),
            Prop(0x000F, "execute_if_off", cv.bit(0x01)),
            Prop(0x0010, "on_off_transition_time", cv.DECI_SECONDS, WRITE),
            Prop(0x0011, "on_level", cv.LEVEL, WRITE),
            Prop(0x0012, "on_transition_time", cv.DECI_SECONDS, WRITE),
            Prop(0x0013, "off_transition_time", cv.DECI_SECONDS, WRITE),
            Prop(0x4000, "startup_level", cv.LEVEL, WRITE),
        ),
        commands=(
            # the *WithOnOff variants also switch the load on/off, as a user expects of a dimmer
            Cmd(
                "set_level",
                "MoveToLevelWithOnOff",
                0x04,
                (Arg("level", "level", cv.LEVEL), TRANSITION, *NO_OPTIONS),
            ),
            Cmd(
                "step",
                "StepWithOnOff",
                0x06,
                (
                    Arg("stepMode", "direction", DIRECTION_UP_DOWN),
                    Arg("stepSize", "step_size", PCT_UNITS),
                    TRANSITION,
                    *NO_OPTIONS,
                ),
            ),
            Cmd(
                "move",
                "MoveWithOnOff",
                0x05,
                (
                    Arg("moveMode", "direction", DIRECTION_UP_DOWN),
                    Arg("rate", "rate", PCT_UNITS, default=None),  # null = the device's default rate
                    *NO_OPTIONS,
                ),
            ),
            Cmd("stop", "StopWithOnOff", 0x07, NO_OPTIONS),
        ),
    ),
]

CT: Final = 0x10  # Color Control feature bits
HS: Final = 0x01
XY: Final = 0x08

COLOR_ROWS: Final = [
    Row(
        "dhi.color_temperature",
        0x0300,
        props=(
            Prop(
                0x0007,
                "color_temperature",
                cv.MIREDS_KELVIN,
                Via("set_color_temperature", "color_temperature"),
            ),
            # the warmest limit in mireds is the lowest in kelvin, and the other way round
            Prop(0x400C, "min_color_temperature", cv.MIREDS_KELVIN),
            Prop(0x400B, "max_color_temperature", cv.MIREDS_KELVIN),
            Prop(0x4010, "startup_color_temperature", cv.MIREDS_KELVIN, WRITE),
        ),
        commands=(
            Cmd(
                "set_color_temperature",
                "MoveToColorTemperature",
                0x0A,
                (
                    Arg("colorTemperatureMireds", "color_temperature", cv.MIREDS_KELVIN),
                    TRANSITION,
                    *NO_OPTIONS,
                ),
            ),
        ),
        features=CT,
    ),
    Row(
        "dhi.color",
        0x0300,
        props=(
            Prop(
                0x0008, "color_mode", cv.enum({0: "hs", 1: "xy", 2: "color_temperature"}, name="color_mode")
            ),
            Prop(0x0000, "hue", cv.HUE),
            Prop(0x0001, "saturation", cv.SATURATION),
            Prop(0x0003, "x", cv.CIE),
            Prop(0x0004, "y", cv.CIE),
            Prop(0x000F, "execute_if_off", cv.bit(0x01)),
        ),
        commands=(
            Cmd(
                "set_hs",
                "MoveToHueAndSaturation",
                0x06,
                (
                    Arg("hue", "hue", cv.HUE),
                    Arg("saturation", "saturation", cv.SATURATION),
                    TRANSITION,
                    *NO_OPTIONS,
                ),
                features=HS,
            ),
            Cmd(
                "set_xy",
                "MoveToColor",
                0x07,
                (Arg("colorX", "x", cv.CIE), Arg("colorY", "y", cv.CIE), TRANSITION, *NO_OPTIONS),
                features=XY,
            ),
        ),
        any_features=HS | XY,
    ),
]

IDENTIFY_ROWS: Final = [
    Row(
        "dhi.identify",
        0x0003,
        props=(Prop(0x0000, "identify_time", UINT16),),
        commands=(Cmd("identify", "Identify", 0x00, (Arg("identifyTime", "duration", UINT16, 15),)),),
        required=(),  # the command is the point; IdentifyTime is often left out of dumps
    ),
]

SCENE_ROWS: Final = [
    Row(
        "dhi.scene",
        0x0062,
        commands=(
            Cmd(
                "recall",
                "RecallScene",
                0x05,
                (
                    Arg("groupID", "group", default=0),
                    Arg("sceneID", "scene"),
                    Arg("transitionTime", "transition_time", MILLISECONDS, OMIT),
                ),
            ),
            Cmd("store", "StoreScene", 0x04, (Arg("groupID", "group", default=0), Arg("sceneID", "scene"))),
        ),
        required=(),
    ),
    Row(
        "dhi.scene",
        0x0005,
        # the pre-1.3 Scenes cluster: the CHIP SDK no longer knows its commands, so read-only
        props=(Prop(0x0001, "current_scene", cv.uint(0, 255)), Prop(0x0002, "group_id", cv.uint(0, 65527))),
    ),
]

# Switch (Generic Switch device type) feature bits
LATCHING, MOMENTARY, MOMENTARY_RELEASE, MOMENTARY_LONG, MOMENTARY_MULTI, ACTION_SWITCH = (1, 2, 4, 8, 16, 32)


def _multi_press(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    count = data.get("totalNumberOfPressesCounted")
    if not isinstance(count, int) or count < 1:
        return None  # an aborted sequence reports 0 presses: nothing happened
    if count == 1:
        return "pressed", {}
    if count == 2:
        return "double_pressed", {}
    return "multi_pressed", {"count": min(count, 255)}


BUTTON_PROPS: Final = (Prop(0x0002, "multi_press_max", cv.uint(1, 255)),)


def _latched(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    position = data.get("newPosition")
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 254:
        return None
    return "position_changed", {"position": position}


SWITCH_ROWS: Final = [
    Row(
        "dhi.button",
        0x003B,
        props=BUTTON_PROPS,
        events=(
            simple_event(0x02, "long_pressed"),
            simple_event(0x04, "released"),
            # with multi-press, one complete sequence is one event (a single ShortRelease too)
            Evt(0x06, ("pressed", "double_pressed", "multi_pressed"), _multi_press),
        ),
        required=(),
        features=MOMENTARY | MOMENTARY_MULTI,
    ),
    Row(
        "dhi.button",
        0x003B,
        props=BUTTON_PROPS,
        events=(
            simple_event(0x03, "pressed"),
            simple_event(0x02, "long_pressed"),
            simple_event(0x04, "released"),
        ),
        required=(),
        features=MOMENTARY | MOMENTARY_RELEASE,
    ),
    Row(
        "dhi.button",
        0x003B,
        props=BUTTON_PROPS,
        # without the release feature the initial press is all a device reports
        events=(simple_event(0x01, "pressed"), simple_event(0x02, "long_pressed")),
        required=(),
        any_features=MOMENTARY | ACTION_SWITCH,
    ),
    Row(
        "dhi.button",
        0x003B,
        props=BUTTON_PROPS,
        # FeatureMap 0 (pre-1.0 firmware, or a dump without it): a momentary button is the
        # only reading that makes the device usable; its presses still arrive as events
        events=(
            simple_event(0x01, "pressed"),
            simple_event(0x02, "long_pressed"),
            simple_event(0x04, "released"),
        ),
        # NumberOfPositions is mandatory: a Switch cluster with only global attributes (seen
        # on endpoint 0 of some nodes) is no button at all
        required=(0x0000,),
        not_features=LATCHING | MOMENTARY | ACTION_SWITCH,
    ),
    Row(
        "dhi.switch_position",
        0x003B,
        props=(Prop(0x0001, "position", cv.uint(0, 254)), Prop(0x0000, "positions", cv.uint(2, 255))),
        events=(Evt(0x00, ("position_changed",), _latched),),
        features=LATCHING,
    ),
]

# ---------------------------------------------------------------- sensors

MEASUREMENT_ROWS: Final = [
    Row("dhi.temperature", 0x0402, props=(Prop(0x0000, "temperature", cv.CENTI_CELSIUS),)),
    Row("dhi.humidity", 0x0405, props=(Prop(0x0000, "humidity", cv.CENTI_PERCENT),)),
    Row("dhi.pressure", 0x0403, props=(Prop(0x0000, "pressure", cv.HECTOPASCAL),)),
    Row("dhi.flow", 0x0404, props=(Prop(0x0000, "flow", cv.DECI_M3_PER_H),)),
    Row("dhi.illuminance", 0x0400, props=(Prop(0x0000, "illuminance", cv.LUX),)),
    Row("dhi.soil_moisture", 0x0430, props=(Prop(0x0001, "moisture", cv.nullable(cv.uint(0, 100))),)),
    Row(
        "dhi.occupancy",
        0x0406,
        props=(Prop(0x0000, "occupied", cv.bit(0x01)), Prop(0x0003, "hold_time", UINT16, WRITE)),
    ),
]


def _state_change(alarm: str, cleared: str) -> Evt:
    def translate(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        value = data.get("stateValue")
        if not isinstance(value, bool):
            return None
        return (alarm if value else cleared), {}

    return Evt(0x00, (alarm, cleared), translate)


BOOLEAN_STATE_ROWS: Final = [
    # Boolean State means nothing by itself: the endpoint's device type says what "true" is.
    Row(
        "dhi.contact",
        0x0045,
        props=(Prop(0x0000, "contact", cv.BOOL),),
        device_types=frozenset({CONTACT_SENSOR}),
    ),
    Row(
        "dhi.water_leak",
        0x0045,
        props=(Prop(0x0000, "water_leak", cv.BOOL),),
        events=(_state_change("alarm", "cleared"),),
        device_types=frozenset({WATER_LEAK_DETECTOR}),
    ),
    Row("dhi.rain", 0x0045, props=(Prop(0x0000, "raining", cv.BOOL),), device_types=frozenset({RAIN_SENSOR})),
    Row(
        "dhi.water_freeze",
        0x0045,
        props=(Prop(0x0000, "freeze", cv.BOOL),),
        events=(_state_change("alarm", "cleared"),),
        device_types=frozenset({WATER_FREEZE_DETECTOR}),
    ),
]

_SEVERITY: Final = {0: "normal", 1: "warning", 2: "critical"}
SEVERITY: Final = cv.enum(_SEVERITY, name="alarm_state")


def _alarm_event(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    level = data.get("alarmSeverityLevel")
    severity = _SEVERITY.get(level) if isinstance(level, int) else None
    if severity is None or severity == "normal":
        return None
    return "alarm", {"severity": severity}


SMOKE, CO = 0x01, 0x02
_ALL_CLEAR: Final = simple_event(0x0A, "cleared")


def _alarm_row(capability: str, state_attr: int, alarm_event: int, name: str, **predicates: Any) -> Row:
    """The alarm that carries the device-wide attributes (mute, self-test, faults, end of
    service): the smoke alarm, or on a CO-only device the CO alarm."""
    return Row(
        capability,
        0x005C,
        props=(
            Prop(state_attr, name, cv.nonzero()),
            Prop(state_attr, "severity", SEVERITY),
            Prop(0x0004, "muted", cv.nonzero()),
            Prop(0x0005, "test_in_progress", cv.BOOL),
            Prop(0x0006, "hardware_fault", cv.BOOL),
            Prop(0x0007, "end_of_service", cv.nonzero()),
        ),
        commands=(Cmd("self_test", "SelfTestRequest", 0x00),),
        events=(
            Evt(alarm_event, ("alarm",), _alarm_event),
            simple_event(0x03, "hardware_fault"),
            simple_event(0x05, "self_test_complete"),
            _ALL_CLEAR,
        ),
        **predicates,
    )


SMOKE_CO_ROWS: Final = [
    _alarm_row("dhi.smoke_alarm", 0x0001, 0x00, "smoke", features=SMOKE),
    _alarm_row("dhi.co_alarm", 0x0002, 0x01, "carbon_monoxide", features=CO, not_features=SMOKE),
    Row(
        "dhi.co_alarm",
        0x005C,
        props=(Prop(0x0002, "carbon_monoxide", cv.nonzero()), Prop(0x0002, "severity", SEVERITY)),
        events=(Evt(0x01, ("alarm",), _alarm_event), _ALL_CLEAR),
        features=CO,
    ),
    Row(
        "dhi.battery",
        0x005C,
        props=(
            Prop(0x0003, "low", cv.nonzero()),
            Prop(
                0x0003, "charge_level", cv.enum({0: "ok", 1: "warning", 2: "critical"}, name="battery_alert")
            ),
        ),
        absent_clusters=frozenset({0x002F}),
        note="an alarm without a Power Source cluster reports its battery only through BatteryAlert",
    ),
]

AIR_QUALITY_ROWS: Final = [
    Row(
        "dhi.air_quality",
        0x005B,
        props=(
            Prop(
                0x0000,
                "level",
                cv.enum(
                    {
                        0: "unknown",
                        1: "good",
                        2: "fair",
                        3: "moderate",
                        4: "poor",
                        5: "very_poor",
                        6: "extremely_poor",
                    },
                    name="air_quality",
                    unknown="unknown",
                ),
            ),
        ),
    ),
]

MEASUREMENT_UNIT: Final = 0x0008
NUMERIC_MEASUREMENT, LEVEL_INDICATION = 0x01, 0x02
CONCENTRATION_LEVEL: Final = cv.enum(
    {0: "unknown", 1: "low", 2: "medium", 3: "high", 4: "critical"}, name="level_value"
)


def _unit_adapter(prop: str, target: str, default_unit: int) -> Any:
    def adapt(ep: Endpoint, cluster: int) -> Mapping[str, Converter] | str:
        unit = ep.value(cluster, MEASUREMENT_UNIT)
        # MeasurementUnit is mandatory with the numeric feature; when a dump lacks it the
        # cluster's customary unit is assumed (what Home Assistant does for CO2 and PM)
        conv = cv.concentration(target, unit if isinstance(unit, int) else default_unit)
        if isinstance(conv, str):
            return f"{prop}: {conv}"
        return {prop: conv}

    return adapt


def _concentration_rows(
    cluster: int,
    capability: str,
    prop: str,
    unit: str,
    default_unit: int,
    *,
    level_in_capability: bool = False,
) -> list[Row]:
    """``level_in_capability``: the catalog capability has a ``level`` property too, so one row
    serves sensors with numeric readings, a level, or both; otherwise a level-only sensor
    gets a typed vendor capability of its own."""
    if level_in_capability:
        return [
            Row(
                capability,
                cluster,
                props=(Prop(0x0000, prop, cv.SAME), Prop(0x000A, "level", CONCENTRATION_LEVEL)),
                required=(),
                any_features=NUMERIC_MEASUREMENT | LEVEL_INDICATION,
                adapt=_unit_adapter(prop, unit, default_unit),
                consumes=(MEASUREMENT_UNIT,),
            )
        ]
    return [
        Row(
            capability,
            cluster,
            props=(Prop(0x0000, prop, cv.SAME), Prop(0x000A, "level", CONCENTRATION_LEVEL)),
            features=NUMERIC_MEASUREMENT,
            adapt=_unit_adapter(prop, unit, default_unit),
            consumes=(MEASUREMENT_UNIT,),
        ),
        Row(
            f"x.matter.{prop}_level",
            cluster,
            props=(Prop(0x000A, "level", CONCENTRATION_LEVEL),),
            features=LEVEL_INDICATION,
            not_features=NUMERIC_MEASUREMENT,
            definition=_level_definition(prop),
            note="a sensor with only the level-indication feature reports no number",
        ),
    ]


def _level_definition(prop: str) -> CapabilityDef:
    return CapabilityDef(
        id=f"x.matter.{prop}_level",
        category="air_quality",
        label=Labels(en=f"{prop} level", zh_cn=f"{prop} 等级"),
        description=Labels(
            en="Qualitative concentration level (Matter LevelValue) of a sensor without numeric readings.",
            zh_cn="无数值读数的传感器给出的浓度等级 (Matter LevelValue)",
        ),
        properties=[
            PropertyDef(
                name="level",
                type=ValueType.ENUM,
                enum=["unknown", "low", "medium", "high", "critical"],
                access=[Access.READ, Access.NOTIFY],
            )
        ],
    )


CONCENTRATION_ROWS: Final = [
    *_concentration_rows(0x040D, "dhi.co2", "co2", "[ppm]", cv.PPM),
    *_concentration_rows(0x040C, "dhi.co", "co", "[ppm]", cv.PPM),
    *_concentration_rows(0x042A, "dhi.pm25", "pm25", "ug/m3", cv.UGM3),
    *_concentration_rows(0x042C, "dhi.pm1", "pm1", "ug/m3", cv.UGM3),
    *_concentration_rows(0x042D, "dhi.pm10", "pm10", "ug/m3", cv.UGM3),
    *_concentration_rows(0x042E, "dhi.tvoc", "tvoc", "ug/m3", cv.UGM3),
    *_concentration_rows(0x042B, "dhi.formaldehyde", "formaldehyde", "mg/m3", cv.MGM3),
    *_concentration_rows(
        0x0413, "dhi.nitrogen_dioxide", "nitrogen_dioxide", "[ppm]", cv.PPM, level_in_capability=True
    ),
    *_concentration_rows(0x0415, "dhi.ozone", "ozone", "[ppm]", cv.PPM, level_in_capability=True),
    *_concentration_rows(0x042F, "dhi.radon", "radon", "Bq/m3", cv.BQM3, level_in_capability=True),
]

# ---------------------------------------------------------------- security, covering, valves

LOCK_OPERATION: Final = {
    0: "lock",
    1: "unlock",
    2: "non_access_user_event",
    3: "forced_user_event",
    4: "unlatch",
}
OPERATION_SOURCE: Final = {
    0: "unspecified",
    1: "manual",
    2: "proprietary_remote",
    3: "keypad",
    4: "auto",
    5: "button",
    6: "schedule",
    7: "remote",
    8: "rfid",
    9: "biometric",
    10: "aliro",
}
OPERATION_ERROR: Final = {
    0: "unspecified",
    1: "invalid_credential",
    2: "disabled_user_denied",
    3: "restricted",
    4: "insufficient_battery",
}
LOCK_ALARM: Final = {
    0: "lock_jammed",
    1: "lock_factory_reset",
    3: "lock_radio_power_cycled",
    4: "wrong_code_entry_limit",
    5: "front_escutcheon_removed",
    6: "door_forced_open",
    7: "door_ajar",
    8: "forced_user",
}


def _lock_operation(data: Mapping[str, Any], *, error: bool) -> tuple[str, dict[str, Any]] | None:
    op = LOCK_OPERATION.get(data.get("lockOperationType", -1))
    source = OPERATION_SOURCE.get(data.get("operationSource", -1))
    if op is None or source is None:
        return None
    payload: dict[str, Any] = {"operation": op, "source": source}
    if error:
        payload["error"] = OPERATION_ERROR.get(data.get("operationError", 0), "unspecified")
        return "lock_operation_error", payload
    user = data.get("userIndex")
    payload["user"] = user if isinstance(user, int) else None
    return "lock_operation", payload


def _lock_alarm(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    alarm = LOCK_ALARM.get(data.get("alarmCode", -1))
    return None if alarm is None else ("lock_alarm", {"alarm": alarm})


def _pin(v: Any) -> str:
    """PIN codes travel as octet strings; the server takes bytes as base64 text."""
    return base64.b64encode(str(v).encode("ascii")).decode("ascii")


PIN: Final = Converter(lambda v: v, _pin, "pin_code")
UNBOLTING: Final = 0x1000  # Door Lock FeatureMap bit 12
LOCK_TIMED_MS: Final = 1000  # Door Lock commands must be timed invokes (spec 5.2.4)

DOOR_LOCK_ROWS: Final = [
    Row(
        "dhi.lock",
        0x0101,
        props=(
            Prop(
                0x0000,
                "lock_state",
                cv.enum(
                    {0: "not_fully_locked", 1: "locked", 2: "unlocked", 3: "unlatched"}, name="lock_state"
                ),
            ),
            Prop(
                0x0003,
                "door_state",
                cv.enum(
                    {
                        0: "open",
                        1: "closed",
                        2: "jammed",
                        3: "forced_open",
                        4: "unspecified_error",
                        5: "ajar",
                    },
                    name="door_state",
                ),
            ),
            Prop(0x0023, "auto_relock_time", UINT32, WRITE),
            # the spec numbers Medium after High
            Prop(
                0x0024,
                "sound_volume",
                cv.enum({0: "silent", 1: "low", 2: "high", 3: "medium"}, name="sound_volume"),
                WRITE,
            ),
            Prop(
                0x0025,
                "operating_mode",
                cv.enum(
                    {0: "normal", 1: "vacation", 2: "privacy", 3: "no_remote_lock_unlock", 4: "passage"},
                    name="operating_mode",
                ),
                WRITE,
            ),
            Prop(0x0002, "actuator_enabled", cv.BOOL),
        ),
        commands=(
            Cmd("lock", "LockDoor", 0x00, (Arg("PINCode", "pin_code", PIN, OMIT),), timed_ms=LOCK_TIMED_MS),
            Cmd(
                "unbolt",
                "UnboltDoor",
                0x27,
                (Arg("PINCode", "pin_code", PIN, OMIT),),
                timed_ms=LOCK_TIMED_MS,
                features=UNBOLTING,
            ),
            Cmd(
                "unlock",
                "UnlockWithTimeout",
                0x03,
                (Arg("timeout", "timeout"), Arg("PINCode", "pin_code", PIN, OMIT)),
                timed_ms=LOCK_TIMED_MS,
                when=lambda params: "timeout" in params,
            ),
            Cmd(
                "unlock", "UnlockDoor", 0x01, (Arg("PINCode", "pin_code", PIN, OMIT),), timed_ms=LOCK_TIMED_MS
            ),
        ),
        events=(
            Evt(0x00, ("lock_alarm",), _lock_alarm),
            Evt(0x02, ("lock_operation",), lambda d: _lock_operation(d, error=False)),
            Evt(0x03, ("lock_operation_error",), lambda d: _lock_operation(d, error=True)),
        ),
    ),
]


def _open_percent(v: Any) -> Any:
    return None if v is None else round(100 - cv.PERCENT100THS.to_hub(v), 2)


def _open_percent_back(v: Any) -> int:
    return int(cv.PERCENT100THS.back(100 - cv.check_number(v)))


#: Window Covering positions count 1/100 % *closed*; DHI counts percent *open*
OPEN_PERCENT: Final = Converter(_open_percent, _open_percent_back, "open_percent")
OPEN_PERCENT_WHOLE: Final = Converter(
    lambda v: None if v is None else 100 - cv.check_int(v, 0, 100),
    lambda v: 100 - round(float(v)),
    "open_percent_whole",
)
MOVING: Final = cv.derived(
    lambda v: {0: "stopped", 1: "opening", 2: "closing"}.get(cv.check_int(v, 0, 255) & 0x03, "stopped"),
    "moving",
)
LIFT, TILT = 0x01, 0x02
COVER_COMMANDS: Final = (
    Cmd("open", "UpOrOpen", 0x00),
    Cmd("close", "DownOrClose", 0x01),
    Cmd("stop", "StopMotion", 0x02),
)
SET_POSITION: Final = Cmd(
    "set_position",
    "GoToLiftPercentage",
    0x05,
    (Arg("liftPercent100thsValue", "position", OPEN_PERCENT),),
    features=LIFT,
)
SET_TILT: Final = Cmd(
    "set_tilt",
    "GoToTiltPercentage",
    0x08,
    (Arg("tiltPercent100thsValue", "tilt", OPEN_PERCENT),),
    features=TILT,
)
COVER_COMMON_PROPS: Final = (
    Prop(0x000F, "tilt", OPEN_PERCENT, Via("set_tilt", "tilt")),
    Prop(0x000A, "moving", MOVING),
    Prop(0x0017, "reversed", cv.bit(0x01)),
)

WINDOW_COVERING_ROWS: Final = [
    Row(
        "dhi.window_covering",
        0x0102,
        props=(Prop(0x000E, "position", OPEN_PERCENT, Via("set_position", "position")), *COVER_COMMON_PROPS),
        commands=(*COVER_COMMANDS, SET_POSITION, SET_TILT),
    ),
    Row(
        "dhi.window_covering",
        0x0102,
        # older firmware reports only whole percent
        props=(
            Prop(0x0008, "position", OPEN_PERCENT_WHOLE, Via("set_position", "position")),
            *COVER_COMMON_PROPS,
        ),
        commands=(*COVER_COMMANDS, SET_POSITION, SET_TILT),
    ),
    Row(
        "dhi.window_covering",
        0x0102,
        # a covering that is not position-aware can still be opened, closed and stopped
        props=COVER_COMMON_PROPS,
        commands=COVER_COMMANDS,
        required=(),
    ),
]

VALVE_FAULTS: Final = ("general", "blocked", "leaking", "not_connected", "short_circuit", "current_exceeded")


def _valve_fault(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    bits = data.get("valveFault")
    if not isinstance(bits, int) or bits == 0:
        return None
    first = next((name for i, name in enumerate(VALVE_FAULTS) if bits & (1 << i)), "general")
    return "fault", {"fault": first}


#: DefaultOpenDuration is at least 1 s; some firmware reports 0 for "no default", i.e. null
POSITIVE_OR_NULL: Final = Converter(
    lambda v: None if v is None or v == 0 else cv.check_int(v, 1, 0xFFFFFFFF),
    lambda v: None if v is None else int(v),
    "positive_or_null",
)

VALVE_ROWS: Final = [
    Row(
        "dhi.valve",
        0x0081,
        props=(
            Prop(0x0004, "state", cv.enum({0: "closed", 1: "open", 2: "transitioning"}, name="valve_state")),
            Prop(0x0006, "level", cv.nullable(cv.SAME)),
            Prop(0x0003, "remaining_duration", UINT32),
            Prop(0x0001, "default_open_duration", POSITIVE_OR_NULL, WRITE),
            Prop(0x0009, "fault", cv.nonzero()),
        ),
        commands=(
            Cmd(
                "open",
                "Open",
                0x00,
                (
                    Arg("openDuration", "duration", default=OMIT),
                    Arg("targetLevel", "level", cv.nullable(cv.SAME), OMIT),
                ),
            ),
            Cmd("close", "Close", 0x01),
        ),
        events=(Evt(0x01, ("fault",), _valve_fault),),
    ),
]

# ---------------------------------------------------------------- climate

SYSTEM_MODE: Final = cv.enum(
    {
        0: "off",
        1: "auto",
        3: "cool",
        4: "heat",
        5: "emergency_heat",
        6: "precooling",
        7: "fan_only",
        8: "dry",
        9: "sleep",
    },
    name="system_mode",
)


def _running_state(v: Any) -> str:
    bits = cv.check_int(v, 0, 255)
    # bits: 0 heat, 1 cool, 2 fan, 3 heat stage 2, 4 cool stage 2, 5 fan stage 2, 6 fan stage 3
    if bits & 0b0001001:
        return "heat"
    if bits & 0b0010010:
        return "cool"
    if bits & 0b1100100:
        return "fan_only"
    return "idle"


#: SetpointHoldEnum: 0 off, 1 on
SETPOINT_HOLD: Final = cv.nullable(
    Converter(lambda v: cv.check_int(v, 0, 1) == 1, lambda v: 1 if v else 0, "setpoint_hold")
)

THERMOSTAT_ROWS: Final = [
    Row(
        "dhi.thermostat",
        0x0201,
        props=(
            Prop(0x0000, "local_temperature", cv.CENTI_CELSIUS),
            Prop(0x0001, "outdoor_temperature", cv.CENTI_CELSIUS),
            Prop(0x0003, "abs_min_heat_setpoint_limit", cv.CENTI_CELSIUS),
            Prop(0x0004, "abs_max_heat_setpoint_limit", cv.CENTI_CELSIUS),
            Prop(0x0007, "cooling_demand", cv.nullable(cv.SAME)),
            Prop(0x0008, "heating_demand", cv.nullable(cv.SAME)),
            Prop(0x0010, "local_temperature_calibration", cv.DECI_CELSIUS_STEP, WRITE),
            Prop(0x0011, "cooling_setpoint", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0012, "heating_setpoint", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0013, "unoccupied_cooling_setpoint", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0014, "unoccupied_heating_setpoint", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0015, "min_heat_setpoint_limit", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0016, "max_heat_setpoint_limit", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0017, "min_cool_setpoint_limit", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0018, "max_cool_setpoint_limit", cv.CENTI_CELSIUS, WRITE),
            Prop(0x0019, "deadband", cv.DECI_CELSIUS_STEP, WRITE),
            Prop(
                0x001B,
                "control_sequence",
                cv.enum(
                    {
                        0: "cooling_only",
                        1: "cooling_with_reheat",
                        2: "heating_only",
                        3: "heating_with_reheat",
                        4: "cooling_and_heating",
                        5: "cooling_and_heating_with_reheat",
                    },
                    name="control_sequence",
                ),
                WRITE,
            ),
            Prop(0x001C, "system_mode", SYSTEM_MODE, WRITE),
            Prop(0x001E, "running_mode", cv.enum({0: "off", 3: "cool", 4: "heat"}, name="running_mode")),
            Prop(0x0023, "setpoint_hold", SETPOINT_HOLD, WRITE),
            Prop(0x0024, "setpoint_hold_duration", cv.uint(0, 1440), WRITE),
            Prop(0x0029, "running_state", cv.derived(_running_state, "running_state")),
            Prop(
                0x0030,
                "setpoint_change_source",
                cv.enum({0: "manual", 1: "schedule", 2: "external"}, name="setpoint_source"),
            ),
        ),
        commands=(
            Cmd(
                "setpoint_raise_lower",
                "SetpointRaiseLower",
                0x00,
                (
                    Arg("mode", "mode", cv.enum({0: "heat", 1: "cool", 2: "both"}, name="setpoint_mode")),
                    Arg("amount", "amount", cv.DECI_CELSIUS_STEP),
                ),
            ),
        ),
    ),
    Row(
        "dhi.temperature_unit",
        0x0204,
        props=(
            Prop(0x0000, "unit", cv.enum({0: "celsius", 1: "fahrenheit"}, name="temperature_unit"), WRITE),
        ),
    ),
    Row(
        "dhi.child_lock",
        0x0204,
        props=(Prop(0x0001, "locked", cv.nonzero()), Prop(0x0001, "keypad_lockout", cv.uint(0, 5), WRITE)),
    ),
]


def _rock_setting(bits: int) -> Converter:
    def back(on: Any) -> int:
        if not isinstance(on, bool):
            raise ConversionError(f"oscillation must be true or false, got {on!r}")
        return bits if on else 0

    return cv.nullable(Converter(lambda v: cv.check_int(v, 0, 0xFF) != 0, back, "rock_setting"))


ROCKING: Final = _rock_setting(0x01)  # RockLeftRight, when RockSupport is not reported


def _rocking(ep: Endpoint, cluster: int) -> Mapping[str, Converter]:
    """Oscillation on = every rocking direction the fan supports (as Home Assistant does)."""
    support = ep.value(cluster, 0x0007)
    if isinstance(support, int) and not isinstance(support, bool) and 0 < support <= 0xFF:
        return {"oscillation": _rock_setting(support)}
    return {}


#: WindSetting bitmap: bit 0 sleep wind, bit 1 natural wind; neither = the normal wind
WIND_MODE: Final = cv.nullable(
    Converter(
        lambda v: "sleep" if cv.check_int(v, 0, 0xFF) & 1 else "natural" if v & 2 else "off",
        cv.enum({0: "off", 1: "sleep", 2: "natural"}, name="wind_mode").back,
        "wind_setting",
    )
)

FAN_ROWS: Final = [
    Row(
        "dhi.fan",
        0x0202,
        props=(
            Prop(
                0x0000,
                "mode",
                cv.enum(
                    {0: "off", 1: "low", 2: "medium", 3: "high", 4: "on", 5: "auto", 6: "smart"},
                    name="fan_mode",
                ),
                WRITE,
            ),
            Prop(0x0002, "speed", cv.nullable(cv.SAME), WRITE),
            Prop(0x0004, "speed_max", cv.uint(1, 100)),
            Prop(0x0005, "speed_level", cv.uint(0, 100), WRITE),
            Prop(0x0008, "oscillation", ROCKING, WRITE),  # per endpoint: from RockSupport (adapt)
            Prop(0x000A, "wind_mode", WIND_MODE, WRITE),
            Prop(0x000B, "direction", cv.enum({0: "forward", 1: "reverse"}, name="airflow_direction"), WRITE),
        ),
        adapt=_rocking,
        consumes=(0x0007, 0x0009),  # RockSupport, WindSupport: what oscillation/wind_mode may be
        commands=(
            Cmd(
                "step",
                "Step",
                0x00,
                (
                    Arg(
                        "direction",
                        "direction",
                        cv.enum({0: "increase", 1: "decrease"}, name="step_direction"),
                    ),
                    Arg("wrap", "wrap", cv.BOOL, OMIT),
                    Arg("lowestOff", "lowest_off", cv.BOOL, OMIT),
                ),
            ),
        ),
    ),
]

AIR_PURIFIER_ROWS: Final = [
    Row(
        "dhi.air_purifier",
        0x0071,
        props=(
            Prop(0x0000, "filter_life", cv.nullable(cv.SAME)),
            Prop(0x0002, "filter_change_needed", cv.nonzero()),
        ),
        commands=(Cmd("reset_filter", "ResetCondition", 0x00),),
    ),
]

# ---------------------------------------------------------------- energy & power

BATTERY, WIRED = 0x02, 0x01

POWER_ROWS: Final = [
    Row(
        "dhi.power",
        0x0090,
        props=(
            Prop(0x0008, "power", cv.MILLI),
            Prop(0x0009, "reactive_power", cv.MILLI),
            Prop(0x000A, "apparent_power", cv.MILLI),
        ),
    ),
    Row("dhi.voltage", 0x0090, props=(Prop(0x0004, "voltage", cv.MILLI),)),
    # some meters report only the RMS voltage
    Row("dhi.voltage", 0x0090, props=(Prop(0x000B, "voltage", cv.MILLI),)),
    Row("dhi.current", 0x0090, props=(Prop(0x0005, "current", cv.MILLI),)),
    Row("dhi.current", 0x0090, props=(Prop(0x000C, "current", cv.MILLI),)),
    Row("dhi.power_factor", 0x0090, props=(Prop(0x0011, "power_factor", cv.CENTI_RATIO),)),
    Row("dhi.ac_frequency", 0x0090, props=(Prop(0x000E, "frequency", cv.MILLI),)),
    Row(
        "dhi.energy",
        0x0091,
        props=(Prop(0x0001, "energy", cv.ENERGY_KWH), Prop(0x0002, "produced_energy", cv.ENERGY_KWH)),
    ),
    Row("dhi.energy", 0x0091, props=(Prop(0x0002, "produced_energy", cv.ENERGY_KWH),)),
    Row(
        "dhi.battery",
        0x002F,
        props=(
            Prop(0x000C, "percentage", cv.HALF_PERCENT),
            Prop(0x000B, "voltage", cv.MILLI),
            Prop(0x000E, "low", cv.nonzero()),
            Prop(
                0x000E, "charge_level", cv.enum({0: "ok", 1: "warning", 2: "critical"}, name="charge_level")
            ),
            Prop(0x000F, "replacement_needed", cv.BOOL),
            Prop(
                0x001A,
                "charging_state",
                cv.enum({0: "unknown", 1: "charging", 2: "full", 3: "not_charging"}, name="charge_state"),
            ),
        ),
        required=(),
        features=BATTERY,
    ),
    # a mains-only power source says nothing a home needs beyond "it is powered"
    Row(None, 0x002F, required=(), not_features=BATTERY, note="mains power source: consumed, not a feature"),
]

# ---------------------------------------------------------------- appliances

# ---------------------------------------------------------------- device information


def _text(v: Any) -> str | None:
    """Basic Information strings: trimmed; empty or NUL-padded garbage is no value."""
    if v is None:
        return None
    if not isinstance(v, str):
        raise ConversionError(f"expected a string, got {type(v).__name__}")
    cleaned = v.replace("\x00", "").strip()
    return cleaned or None


TEXT: Final = Converter(_text, None, "text")


def _info_rows(cluster: int) -> list[Row]:
    return [
        Row(
            "dhi.device_info",
            cluster,
            props=(
                Prop(0x0001, "manufacturer", TEXT),
                Prop(0x0003, "model", TEXT),
                Prop(0x0008, "hardware_version", TEXT),
                Prop(0x000A, "firmware_version", TEXT),
                Prop(0x000F, "serial_number", TEXT),
            ),
            required=(),
        ),
        Row("dhi.connectivity", cluster, props=(Prop(0x0011, "online", cv.BOOL),)),
    ]


INFO_ROWS: Final = [*_info_rows(0x0028), *_info_rows(0x0039)]

ROWS: Final[list[Row]] = [
    *INFO_ROWS,
    *IDENTIFY_ROWS,
    *ON_OFF_ROWS,
    *PUMP_LEVEL_ROWS,  # before the generic level row: a pump's level is a setpoint
    *LEVEL_ROWS,
    *COLOR_ROWS,
    *SCENE_ROWS,
    *SWITCH_ROWS,
    *MEASUREMENT_ROWS,
    *BOOLEAN_STATE_ROWS,
    *SMOKE_CO_ROWS,
    *AIR_QUALITY_ROWS,
    *CONCENTRATION_ROWS,
    *DOOR_LOCK_ROWS,
    *WINDOW_COVERING_ROWS,
    *VALVE_ROWS,
    *THERMOSTAT_ROWS,
    *FAN_ROWS,
    *AIR_PURIFIER_ROWS,
    *POWER_ROWS,
    *EXTRA_ROWS,
]


def rows_by_cluster() -> dict[int, list[Row]]:
    out: dict[int, list[Row]] = {}
    for row in ROWS:
        out.setdefault(row.cluster, []).append(row)
    return out


ROWS_BY_CLUSTER: Final = rows_by_cluster()

#: clusters the issue lists as required coverage (a mapping report must not leave them unmapped)
LISTED_CLUSTERS: Final[frozenset[int]] = frozenset(
    {
        0x0006, 0x0008, 0x0300, 0x0406, 0x0400, 0x0402, 0x0405, 0x0403, 0x0404, 0x0045, 0x005C, 0x005B,
        0x040C, 0x040D, 0x0413, 0x0415, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F, 0x0101, 0x0102,
        0x0201, 0x0202, 0x0090, 0x0091, 0x002F, 0x003B, 0x0081, 0x0028, 0x0039,
    }
)  # fmt: skip
