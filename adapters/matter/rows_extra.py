"""Mapping rows for appliances, robot vacuums, pumps, water heaters, sensitivity, presets,
chimes and Eve's vendor energy attributes (what Home Assistant's Matter integration offers).

Several of these clusters name things by number and list the names in another attribute
(a mode's label in SupportedModes, an area's name in SupportedAreas, a preset's name in
Presets, a chime's name in InstalledChimeSounds). DHI speaks the names: the row's
``adapt`` builds, per endpoint, a converter between the two from that list, and the
command argument that takes a name is encoded with the same converter (``Arg.adapted``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from adapters.matter import convert as cv
from adapters.matter.node import Endpoint
from adapters.matter.schema import WRITE, Arg, Cmd, Evt, Prop, Row, Via
from adapters.sdk.convert import ConversionError, Converter

# ---------------------------------------------------------------- named lists


def _names(
    entries: Any, name_of: Callable[[Mapping[str, Any]], Any], id_tag: str, what: str
) -> dict[Any, str]:
    """id -> unique display name; an unnamed entry is "<what> <id>", a repeated name gets its id."""
    out: dict[Any, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or id_tag not in entry:
            continue
        ident, name = entry[id_tag], name_of(entry)
        if isinstance(ident, dict | list):
            continue  # an id must be a number or a handle
        text = name.strip() if isinstance(name, str) and name.strip() else f"{what} {ident}"
        if text in out.values():
            text = f"{text} ({ident})"
        out[ident] = text
    return out


def _named(table: Mapping[Any, str], what: str) -> Converter:
    """A number (or handle) <-> its name in ``table``; unknown names are refused by name."""
    reverse = {v.casefold(): k for k, v in table.items()}

    def to_hub(v: Any) -> str:
        if v not in table:
            raise ConversionError(f"{what} {v!r} is not in the device's list {sorted(map(str, table))}")
        return table[v]

    def back(v: Any) -> Any:
        if not isinstance(v, str) or v.casefold() not in reverse:
            raise ConversionError(f"{what} {v!r} is not one of {list(table.values())}")
        return reverse[v.casefold()]

    return cv.nullable(Converter(to_hub, back, what))


def _name_list(table: Mapping[Any, str]) -> Converter:
    """A list attribute whose entries the table names -> the list of names (read-only)."""
    return cv.derived(lambda v: list(table.values()), "names")


def _named_ids(table: Mapping[Any, str], what: str) -> Converter:
    """A list of ids <-> the list of their names."""
    one = _named(table, what)

    def to_hub(v: Any) -> list[str]:
        if not isinstance(v, list):
            raise ConversionError(f"expected a list of {what} ids, got {type(v).__name__}")
        return [one.to_hub(i) for i in v]

    def back(v: Any) -> list[Any]:
        if not isinstance(v, list):
            raise ConversionError(f"expected a list of {what} names, got {type(v).__name__}")
        return [one.back(n) for n in v]

    return cv.nullable(Converter(to_hub, back, f"list({what})"))


def _list_adapter(
    list_attr: int,
    name_of: Callable[[Mapping[str, Any]], Any],
    id_tag: str,
    what: str,
    *,
    current: str,
    listing: str,
    many: str | None = None,
) -> Callable[[Endpoint, int], Mapping[str, Converter] | str]:
    def adapt(ep: Endpoint, cluster: int) -> Mapping[str, Converter] | str:
        table = _names(ep.value(cluster, list_attr), name_of, id_tag, what)
        if not table:
            return f"the device lists no {what}s"
        out = {current: _named(table, what), listing: _name_list(table)}
        if many is not None:
            out[many] = _named_ids(table, what)
        return out

    return adapt


# ---------------------------------------------------------------- modes


def _unadapted(v: Any) -> Any:
    raise ConversionError("named through the endpoint's list (the row's adapt), not by itself")


#: the declared converter of a property whose real one the row's adapt builds per endpoint
BY_ENDPOINT: Final = Converter(_unadapted, _unadapted, "by_endpoint")


def _mode_row(capability: str, cluster: int, supported: int, current: int) -> Row:
    return Row(
        capability,
        cluster,
        props=(
            Prop(current, "mode", BY_ENDPOINT, Via("set_mode", "mode")),
            Prop(supported, "modes", BY_ENDPOINT),
        ),
        commands=(Cmd("set_mode", "ChangeToMode", 0x00, (Arg("newMode", "mode", adapted="mode"),)),),
        adapt=_list_adapter(supported, lambda e: e.get("0"), "1", "mode", current="mode", listing="modes"),
    )


MODE_ROWS: Final = [
    _mode_row("dhi.mode", 0x0050, 0x0002, 0x0003),  # Mode Select: its own attribute ids
    _mode_row("dhi.clean_mode", 0x0055, 0x0000, 0x0001),  # RVC Clean Mode
    *(
        _mode_row("dhi.mode", cluster, 0x0000, 0x0001)
        for cluster in (
            0x0054,  # RVC Run Mode
            0x0059,  # Dishwasher Mode
            0x0051,  # Laundry Washer Mode
            0x0049,  # Oven Mode
            0x0052,  # Refrigerator and Temperature Controlled Cabinet Mode
            0x009E,  # Water Heater Mode
            0x009D,  # Energy EVSE Mode
            0x009F,  # Device Energy Management Mode
        )
    ),
]

# ---------------------------------------------------------------- operational states

OPERATIONAL_STATES: Final = {
    0: "stopped",
    1: "running",
    2: "paused",
    3: "error",
    0x40: "seeking_charger",
    0x41: "charging",
    0x42: "docked",
}
#: ErrorStateStruct field 0 is the error id; 0 = no error
ERROR_NAMES: Final = {
    1: "unable_to_start_or_resume",
    2: "unable_to_complete_operation",
    3: "command_invalid_in_state",
    0x40: "failed_to_find_charging_dock",
    0x41: "stuck",
    0x42: "dust_bin_missing",
    0x43: "dust_bin_full",
    0x44: "water_tank_empty",
    0x45: "water_tank_missing",
    0x46: "water_tank_lid_open",
    0x47: "mop_cleaning_pad_missing",
}


def _error(v: Any) -> str | None:
    if not isinstance(v, dict):
        raise ConversionError(f"expected an ErrorStateStruct, got {type(v).__name__}")
    ident = v.get("0")
    if ident == 0:
        return None
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise ConversionError(f"error id {ident!r} is not an integer")
    label = v.get("1")
    return ERROR_NAMES.get(ident) or (label if isinstance(label, str) and label else f"error_0x{ident:02x}")


def _phase(ep: Endpoint, cluster: int) -> Mapping[str, Converter]:
    phases = ep.value(cluster, 0x0000)
    names = [p for p in phases if isinstance(p, str)] if isinstance(phases, list) else []

    def to_hub(v: Any) -> str | None:
        n = cv.check_int(v, 0, 255)
        return names[n] if n < len(names) else f"phase {n}"

    return {"phase": cv.nullable(Converter(to_hub, None, "phase"))}


def _operational_error(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    state = data.get("errorState")
    if not isinstance(state, dict):
        return None
    ident = state.get("errorStateID")
    label = state.get("errorStateLabel")
    fields = {"0": ident, "1": label}
    try:
        error = _error(fields)
    except ConversionError:
        return None
    return None if error is None else ("error", {"error": error})


def _completed(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    total = data.get("totalOperationalTime")
    ok = isinstance(total, int) and not isinstance(total, bool) and total >= 0
    return "completed", {"total_time": total} if ok else {}


OPERATIONAL_EVENTS: Final = (
    Evt(0x00, ("error",), _operational_error),
    Evt(0x01, ("completed",), _completed),
)


def _op_state_row(cluster: int, commands: tuple[Cmd, ...]) -> Row:
    return Row(
        "dhi.operational_state",
        cluster,
        props=(
            Prop(0x0004, "state", cv.enum(OPERATIONAL_STATES, name="operational_state")),
            Prop(0x0001, "phase", BY_ENDPOINT),
            Prop(0x0002, "remaining_time", cv.uint(0, 0xFFFFFFFF)),
            Prop(0x0005, "error", cv.nullable(Converter(_error, None, "error_state"))),
        ),
        commands=commands,
        events=OPERATIONAL_EVENTS,
        adapt=_phase,
        consumes=(0x0000,),  # PhaseList names CurrentPhase
    )


OPERATIONAL_STATE_ROWS: Final = [
    _op_state_row(
        0x0060,
        (
            Cmd("pause", "Pause", 0x00),
            Cmd("stop", "Stop", 0x01),
            Cmd("start", "Start", 0x02),
            Cmd("resume", "Resume", 0x03),
        ),
    ),
    _op_state_row(
        0x0061, (Cmd("pause", "Pause", 0x00), Cmd("resume", "Resume", 0x03), Cmd("go_home", "GoHome", 0x80))
    ),
    _op_state_row(0x0048, (Cmd("stop", "Stop", 0x01), Cmd("start", "Start", 0x02))),
]

# ---------------------------------------------------------------- service areas


def _area_name(entry: Mapping[str, Any]) -> Any:
    """AreaStruct: 0 areaID, 2 areaInfo {0 locationInfo {0 locationName}, 1 landmarkInfo}."""
    info = entry.get("2")
    location = info.get("0") if isinstance(info, dict) else None
    return location.get("0") if isinstance(location, dict) else None


SERVICE_AREA_ROWS: Final = [
    Row(
        "dhi.service_area",
        0x0150,
        props=(
            Prop(0x0000, "areas", BY_ENDPOINT),
            Prop(0x0002, "selected_areas", BY_ENDPOINT),
            Prop(0x0003, "current_area", BY_ENDPOINT),
        ),
        commands=(
            Cmd("select_areas", "SelectAreas", 0x00, (Arg("newAreas", "areas", adapted="selected_areas"),)),
        ),
        adapt=_list_adapter(
            0x0000,
            _area_name,
            "0",
            "area",
            current="current_area",
            listing="areas",
            many="selected_areas",
        ),
    ),
]

# ---------------------------------------------------------------- alarms

DISHWASHER_ALARMS: Final = (
    "inflow_error",
    "drain_error",
    "door_error",
    "temperature_too_low",
    "temperature_too_high",
    "water_level_error",
)


def _bit_names(names: tuple[str, ...]) -> Converter:
    def to_hub(v: Any) -> list[str]:
        bits = cv.check_int(v, 0, 0xFFFFFFFF)
        return [name for i, name in enumerate(names) if bits & (1 << i)]

    return cv.derived(to_hub, "alarm_bits")


ALARM_ROWS: Final = [
    Row(
        "dhi.appliance_alarm",
        0x005D,
        props=(Prop(0x0002, "alarms", _bit_names(DISHWASHER_ALARMS)),
               Prop(0x0003, "supported_alarms", _bit_names(DISHWASHER_ALARMS))),
        # reset every alarm the device supports (the spec ignores bits that are not latched)
        commands=(Cmd("reset", "Reset", 0x00, (Arg("alarms", default=0x3F),)),),
    ),
    Row(
        "dhi.appliance_alarm",
        0x0057,
        props=(Prop(0x0002, "alarms", _bit_names(("door_open",))),
               Prop(0x0003, "supported_alarms", _bit_names(("door_open",)))),
    ),
]  # fmt: skip

# ---------------------------------------------------------------- sensitivity (Boolean State Configuration)

SENSITIVITY_ROWS: Final = [
    Row(
        "dhi.sensitivity",
        0x0080,
        props=(
            Prop(0x0000, "level", cv.uint(0, 9), WRITE),
            Prop(0x0001, "levels", cv.uint(2, 10)),
            Prop(0x0002, "default_level", cv.uint(0, 9)),
            Prop(0x0003, "alarm_active", cv.nonzero()),
            Prop(0x0004, "alarm_suppressed", cv.nonzero()),
            Prop(0x0007, "sensor_fault", cv.nonzero()),
        ),
        required=(),
    ),
]

# ---------------------------------------------------------------- pump

OPERATION_MODES: Final = {0: "normal", 1: "minimum", 2: "maximum", 3: "local"}
CONTROL_MODES: Final = {
    0: "constant_speed",
    1: "constant_pressure",
    2: "proportional_pressure",
    3: "constant_flow",
    5: "constant_temperature",
    7: "automatic",
}
PUMP_STATUS_FAULT, PUMP_STATUS_RUNNING = 0x03, 0x20
DECI: Final = cv.nullable(cv.scaled(0.1, digits=1, name="deci"))

PUMP_ROWS: Final = [
    Row(
        "dhi.pump",
        0x0200,
        props=(
            Prop(0x0010, "running", cv.bit(PUMP_STATUS_RUNNING)),
            Prop(0x0010, "fault", cv.bit(PUMP_STATUS_FAULT)),
            Prop(0x0020, "operation_mode", cv.enum(OPERATION_MODES, name="operation_mode"), WRITE),
            Prop(0x0021, "control_mode", cv.enum(CONTROL_MODES, name="control_mode"), WRITE),
            Prop(0x0011, "effective_operation_mode", cv.enum(OPERATION_MODES, name="operation_mode")),
            Prop(0x0012, "effective_control_mode", cv.enum(CONTROL_MODES, name="control_mode")),
            Prop(0x0014, "speed", cv.uint(0, 0xFFFF)),
            Prop(0x0013, "capacity", DECI),
            Prop(0x0000, "max_pressure", DECI),
            Prop(0x0001, "max_speed", cv.uint(0, 0xFFFF)),
            Prop(0x0002, "max_flow", DECI),
        ),
        required=(),
    ),
]


def _pump_level(v: Any) -> float:
    # Pump setpoint (Pump spec 5.2.4.2): 1..200 = 0.5 % steps, 201..254 = 100 %, 0 = not set
    return min(cv.check_int(v, 0, 254), 200) / 2


PUMP_LEVEL: Final = cv.nullable(
    Converter(_pump_level, lambda v: max(0, min(200, round(cv.check_number(v) * 2))), "pump_setpoint")
)
PUMP: Final = 0x0303

PUMP_LEVEL_ROWS: Final = [
    Row(
        "dhi.level",
        0x0008,
        props=(Prop(0x0000, "level", PUMP_LEVEL, Via("set_level", "level")),),
        commands=(
            # a setpoint change must not switch the pump: MoveToLevel, not …WithOnOff
            Cmd(
                "set_level",
                "MoveToLevel",
                0x00,
                (
                    Arg("level", "level", PUMP_LEVEL),
                    Arg("transitionTime", default=0),
                    Arg("optionsMask", default=0),
                    Arg("optionsOverride", default=0),
                ),
            ),
        ),
        device_types=frozenset({PUMP}),
        note="a pump's Level Control is its setpoint, 200 = 100 %",
    ),
]

# ---------------------------------------------------------------- water heater

BOOST_INFO: Final = Converter(lambda v: v, lambda v: {"duration": cv.check_int(v, 1, 0xFFFFFFFF)}, "boost")

WATER_HEATER_ROWS: Final = [
    Row(
        "dhi.water_heater",
        0x0094,
        props=(
            Prop(0x0005, "boost", cv.nonzero()),
            Prop(0x0001, "heat_demand", cv.nonzero()),
            Prop(0x0004, "tank_percentage", cv.uint(0, 100)),
            Prop(0x0002, "tank_volume", cv.uint(0, 0xFFFF)),
            Prop(0x0003, "estimated_heat_required", cv.scaled(1e-6, digits=6, name="mwh_to_kwh")),
        ),
        commands=(
            Cmd("boost", "Boost", 0x00, (Arg("boostInfo", "duration", BOOST_INFO),)),
            Cmd("cancel_boost", "CancelBoost", 0x01),
        ),
        required=(),
    ),
]

# ---------------------------------------------------------------- thermostat presets

SCENARIOS: Final = {
    1: "occupied",
    2: "unoccupied",
    3: "sleep",
    4: "wake",
    5: "vacation",
    6: "going_to_sleep",
    0xFE: "user_defined",
}


def _preset_name(entry: Mapping[str, Any]) -> Any:
    """PresetStruct: 0 handle, 1 scenario, 2 name (nullable)."""
    name = entry.get("2")
    if isinstance(name, str) and name.strip():
        return name
    return SCENARIOS.get(entry.get("1", -1))


PRESET_ROWS: Final = [
    Row(
        "dhi.thermostat_preset",
        0x0201,
        props=(
            Prop(0x004E, "preset", BY_ENDPOINT, Via("set_preset", "preset")),
            Prop(0x0050, "presets", BY_ENDPOINT),
        ),
        commands=(
            Cmd(
                "set_preset",
                "SetActivePresetRequest",
                0x06,
                (Arg("presetHandle", "preset", adapted="preset"),),
            ),
        ),
        required=(0x0050,),
        adapt=_list_adapter(0x0050, _preset_name, "0", "preset", current="preset", listing="presets"),
    ),
]

# ---------------------------------------------------------------- chime

CHIME_ROWS: Final = [
    Row(
        "dhi.chime",
        0x0556,
        props=(
            Prop(0x0001, "sound", BY_ENDPOINT, WRITE),
            Prop(0x0000, "sounds", BY_ENDPOINT),
            Prop(0x0002, "enabled", cv.BOOL, WRITE),
        ),
        commands=(Cmd("play", "PlayChimeSound", 0x00),),  # plays the selected sound
        required=(),
        adapt=_list_adapter(
            0x0000, lambda e: e.get("1"), "0", "chime sound", current="sound", listing="sounds"
        ),
    ),
]

# ---------------------------------------------------------------- Eve (vendor cluster 0x130AFC01)

EVE: Final = 0x130AFC01
#: Eve's energy attributes are floats in W, V, A and kWh (python-matter-server's EveCluster)
FLOAT: Final = cv.nullable(Converter(lambda v: round(cv.check_number(v), 3), None, "float"))

EVE_ROWS: Final = [
    # rows of a vendor cluster only fill a capability no standard cluster of the endpoint
    # gives: Electrical Power/Energy Measurement sort first, so they win (see mapping.py)
    Row("dhi.power", EVE, props=(Prop(0x130A000A, "power", FLOAT),)),
    Row("dhi.voltage", EVE, props=(Prop(0x130A0008, "voltage", FLOAT),)),
    Row("dhi.current", EVE, props=(Prop(0x130A0009, "current", FLOAT),)),
    Row("dhi.energy", EVE, props=(Prop(0x130A000B, "energy", FLOAT),)),
]

EXTRA_ROWS: Final[list[Row]] = [
    *MODE_ROWS,
    *OPERATIONAL_STATE_ROWS,
    *SERVICE_AREA_ROWS,
    *ALARM_ROWS,
    *SENSITIVITY_ROWS,
    *PUMP_ROWS,
    *WATER_HEATER_ROWS,
    *PRESET_ROWS,
    *CHIME_ROWS,
    *EVE_ROWS,
]
