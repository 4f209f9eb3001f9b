"""Shelly Gen2+ component status fields -> DHI capabilities (declarative tables).

Sources: Shelly's public Gen2 API documentation (component pages Switch, Cover, Light,
Input, EM, EM1, PM1, Temperature, Humidity, Illuminance, DevicePower, Smoke, Thermostat,
Sys, WiFi) and the recorded replies in /work/shared/fixtures/shelly. A component key is
``<type>:<id>`` (``switch:0``); its DHI component is ``<type>_<id>`` (``switch_0``),
device-level parts (``sys``, ``wifi``) go to ``main``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.sdk import Converter, enum_map, identity, scale
from adapters.sdk.mqtt.describe import vendor_property
from dhi.errors import AdapterError, CommandTimeout, DeviceUnavailable, HubError, InvalidParams, Unsupported
from dhi.models import PropertyDef
from dhi.models.catalog import ValueType

#: Wh (Shelly's energy counters) -> kWh
WH_TO_KWH = scale(0.001)
MOVING = enum_map(
    {"opening": "opening", "closing": "closing", "open": "stopped", "closed": "stopped", "stopped": "stopped",
     "calibrating": "stopped"},
    name="cover_state",
)  # fmt: skip
RUNNING = enum_map({True: "heat", False: "idle"}, name="thermostat_output")


@dataclass(frozen=True)
class FieldRow:
    """``path`` (dotted, inside one component's status) -> ``capability.property``."""

    kind: str
    path: str
    capability: str
    property: str
    convert: Converter = identity
    sub: str | None = None  # DHI component suffix (a phase of a 3-phase meter)
    vendor: PropertyDef | None = None  # set for x.shelly.* capabilities
    note: str | None = None


@dataclass(frozen=True)
class KindRow:
    kind: str
    component: str | None  # None: the component's own ``<type>_<id>``; else a fixed DHI component
    strict: bool  # True: every status field is a feature (unmapped ones are reported)
    status_of: str | None = None  # e.g. emdata:N belongs to em:N


#: Fields that are metadata, duplicates (°F next to °C) or bookkeeping: never features.
IGNORED = frozenset(
    {"id", "source", "temperature.tF", "aenergy.by_minute", "aenergy.minute_ts", "ret_aenergy.by_minute",
     "ret_aenergy.minute_ts", "tF", "errors", "flags", "pos_control", "last_direction", "move_timeout",
     "move_started_at", "target_pos", "user_calibrated_phase", "timer_started_at", "timer_duration",
     "schedules.enable"}
)  # fmt: skip


def _power(kind: str) -> list[FieldRow]:
    return [
        FieldRow(kind, "apower", "dhi.power", "power"),
        FieldRow(kind, "voltage", "dhi.voltage", "voltage"),
        FieldRow(kind, "current", "dhi.current", "current"),
        FieldRow(kind, "freq", "dhi.ac_frequency", "frequency"),
        FieldRow(kind, "pf", "dhi.power_factor", "power_factor"),
        FieldRow(kind, "aenergy.total", "dhi.energy", "energy", WH_TO_KWH),
        FieldRow(kind, "ret_aenergy.total", "dhi.energy", "produced_energy", WH_TO_KWH),
        FieldRow(kind, "temperature.tC", "dhi.device_temperature", "temperature"),
    ]


def _phases() -> list[FieldRow]:
    rows = [
        FieldRow("em", "total_act_power", "dhi.power", "power"),
        FieldRow("em", "total_aprt_power", "dhi.power", "apparent_power"),
        FieldRow("em", "total_current", "dhi.current", "current"),
        FieldRow("em", "n_current", "x.shelly.neutral", "current",
                 vendor=vendor_property("current", ValueType.NUMBER, unit="A", nullable=True, label="neutral current")),
        FieldRow("emdata", "total_act", "dhi.energy", "energy", WH_TO_KWH),
        FieldRow("emdata", "total_act_ret", "dhi.energy", "produced_energy", WH_TO_KWH),
    ]  # fmt: skip
    for p in ("a", "b", "c"):
        rows += [
            FieldRow("em", f"{p}_act_power", "dhi.power", "power", sub=p),
            FieldRow("em", f"{p}_aprt_power", "dhi.power", "apparent_power", sub=p),
            FieldRow("em", f"{p}_voltage", "dhi.voltage", "voltage", sub=p),
            FieldRow("em", f"{p}_current", "dhi.current", "current", sub=p),
            FieldRow("em", f"{p}_pf", "dhi.power_factor", "power_factor", sub=p),
            FieldRow("em", f"{p}_freq", "dhi.ac_frequency", "frequency", sub=p),
            FieldRow("emdata", f"{p}_total_act_energy", "dhi.energy", "energy", WH_TO_KWH, sub=p),
            FieldRow(
                "emdata", f"{p}_total_act_ret_energy", "dhi.energy", "produced_energy", WH_TO_KWH, sub=p
            ),
        ]
    return rows


FIELDS: tuple[FieldRow, ...] = (
    FieldRow("switch", "output", "dhi.on_off", "on"),
    *_power("switch"),
    FieldRow("light", "output", "dhi.on_off", "on"),
    FieldRow("light", "brightness", "dhi.level", "level"),
    *_power("light"),
    FieldRow("cover", "current_pos", "dhi.window_covering", "position"),
    FieldRow("cover", "state", "dhi.window_covering", "moving", MOVING, note="open/closed/calibrating = not moving"),
    *_power("cover"),
    *_power("pm1"),
    *_phases(),
    FieldRow("em1", "act_power", "dhi.power", "power"),
    FieldRow("em1", "aprt_power", "dhi.power", "apparent_power"),
    FieldRow("em1", "voltage", "dhi.voltage", "voltage"),
    FieldRow("em1", "current", "dhi.current", "current"),
    FieldRow("em1", "pf", "dhi.power_factor", "power_factor"),
    FieldRow("em1", "freq", "dhi.ac_frequency", "frequency"),
    FieldRow("em1data", "total_act_energy", "dhi.energy", "energy", WH_TO_KWH),
    FieldRow("em1data", "total_act_ret_energy", "dhi.energy", "produced_energy", WH_TO_KWH),
    FieldRow("input", "state", "x.shelly.input", "state",
             vendor=vendor_property("state", ValueType.BOOLEAN, nullable=True, label="input closed"),
             note="switch-mode input; button-mode inputs report events (EVENTS)"),
    FieldRow("input", "percent", "x.shelly.analog_input", "percent",
             vendor=vendor_property("percent", ValueType.NUMBER, unit="%", minimum=0, maximum=100, nullable=True)),
    FieldRow("input", "counts.total", "x.shelly.pulse_counter", "total",
             vendor=vendor_property("total", ValueType.INTEGER, minimum=0, label="pulses")),
    FieldRow("temperature", "tC", "dhi.temperature", "temperature"),
    FieldRow("humidity", "rh", "dhi.humidity", "humidity"),
    FieldRow("illuminance", "lux", "dhi.illuminance", "illuminance"),
    FieldRow("illuminance", "illumination", "x.shelly.illumination", "level",
             vendor=vendor_property("level", ValueType.ENUM, enum=["dark", "twilight", "bright"])),
    FieldRow("devicepower", "battery.percent", "dhi.battery", "percentage"),
    FieldRow("devicepower", "battery.V", "dhi.battery", "voltage"),
    FieldRow("devicepower", "external.present", "x.shelly.external_power", "present",
             vendor=vendor_property("present", ValueType.BOOLEAN, label="external power")),
    FieldRow("smoke", "alarm", "dhi.smoke_alarm", "smoke"),
    FieldRow("smoke", "mute", "dhi.smoke_alarm", "muted"),
    FieldRow("thermostat", "current_C", "dhi.thermostat", "local_temperature"),
    FieldRow("thermostat", "target_C", "dhi.thermostat", "target_temperature"),
    FieldRow("thermostat", "output", "dhi.thermostat", "running_state", RUNNING),
    FieldRow("thermostat", "enable", "x.shelly.thermostat", "enable",
             vendor=vendor_property("enable", ValueType.BOOLEAN, writable=True, label="thermostat enabled")),
    FieldRow("sys", "uptime", "dhi.diagnostics", "uptime"),
    FieldRow("sys", "available_updates.stable.version", "dhi.firmware_update", "latest_version"),
    FieldRow("wifi", "rssi", "dhi.connectivity", "rssi"),
)  # fmt: skip

KINDS: tuple[KindRow, ...] = (
    *(
        KindRow(k, None, True)
        for k in ("switch", "light", "cover", "pm1", "em", "em1", "input", "temperature", "humidity",
                  "illuminance", "devicepower", "smoke", "thermostat")
    ),
    KindRow("emdata", None, True, status_of="em"),
    KindRow("em1data", None, True, status_of="em1"),
    KindRow("sys", "main", False),
    KindRow("wifi", "main", False),
)  # fmt: skip

#: Connectivity/platform parts of every device: not features of the appliance.
INFRASTRUCTURE = frozenset(
    {"ble", "cloud", "mqtt", "ws", "eth", "knx", "matter", "zigbee", "modbus", "plugs_ui", "ui", "bthome",
     "awaiting_auth_code", "script", "wifi_ap", "ts", "blugw", "bthomedevice", "bthomesensor"}
)  # fmt: skip


# ---------------------------------------------------------------- events (NotifyEvent)


@dataclass(frozen=True)
class EventRow:
    kind: str
    event: str  # Shelly event name
    capability: str
    dhi_event: str
    payload: dict[str, Any] | None = None


EVENTS: tuple[EventRow, ...] = (
    EventRow("input", "single_push", "dhi.button", "pressed"),
    EventRow("input", "double_push", "dhi.button", "double_pressed"),
    EventRow("input", "triple_push", "dhi.button", "multi_pressed", {"count": 3}),
    EventRow("input", "long_push", "dhi.button", "long_pressed"),
    EventRow("input", "btn_up", "dhi.button", "released"),
    EventRow("smoke", "alarm", "dhi.smoke_alarm", "alarm"),
    EventRow("smoke", "alarm_off", "dhi.smoke_alarm", "cleared"),
)
BUTTON_EVENTS = sorted({r.dhi_event for r in EVENTS if r.capability == "dhi.button"})


# ---------------------------------------------------------------- commands


Params = Callable[[int, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CommandRow:
    """A DHI command (or ``set`` of one property) on a component kind -> one RPC call."""

    kind: str
    capability: str
    command: str  # a catalog command, or "set:<property>"
    method: str
    params: Params


def _on(method: str, on: bool) -> CommandRow:
    kind = method.split(".", maxsplit=1)[0].lower()
    return CommandRow(kind, "dhi.on_off", "on" if on else "off", method, lambda i, p: {"id": i, "on": on})


def _transition(p: dict[str, Any]) -> dict[str, Any]:
    return {"transition_duration": p["transition_time"]} if "transition_time" in p else {}


COMMANDS: tuple[CommandRow, ...] = (
    _on("Switch.Set", True),
    _on("Switch.Set", False),
    CommandRow("switch", "dhi.on_off", "toggle", "Switch.Toggle", lambda i, p: {"id": i}),
    CommandRow("switch", "dhi.on_off", "set:on", "Switch.Set", lambda i, p: {"id": i, "on": p["on"]}),
    CommandRow("switch", "dhi.energy", "reset", "Switch.ResetCounters", lambda i, p: {"id": i, "type": ["aenergy"]}),
    _on("Light.Set", True),
    _on("Light.Set", False),
    CommandRow("light", "dhi.on_off", "toggle", "Light.Toggle", lambda i, p: {"id": i}),
    CommandRow("light", "dhi.on_off", "set:on", "Light.Set", lambda i, p: {"id": i, "on": p["on"]}),
    CommandRow("light", "dhi.level", "set_level", "Light.Set",
               lambda i, p: {"id": i, "brightness": round(p["level"]), **_transition(p)}),
    CommandRow("light", "dhi.level", "set:level", "Light.Set", lambda i, p: {"id": i, "brightness": round(p["level"])}),
    CommandRow("cover", "dhi.window_covering", "open", "Cover.Open", lambda i, p: {"id": i}),
    CommandRow("cover", "dhi.window_covering", "close", "Cover.Close", lambda i, p: {"id": i}),
    CommandRow("cover", "dhi.window_covering", "stop", "Cover.Stop", lambda i, p: {"id": i}),
    CommandRow("cover", "dhi.window_covering", "calibrate", "Cover.Calibrate", lambda i, p: {"id": i}),
    CommandRow("cover", "dhi.window_covering", "set_position", "Cover.GoToPosition",
               lambda i, p: {"id": i, "pos": round(p["position"])}),
    CommandRow("cover", "dhi.window_covering", "set:position", "Cover.GoToPosition",
               lambda i, p: {"id": i, "pos": round(p["position"])}),
    CommandRow("smoke", "dhi.smoke_alarm", "mute", "Smoke.Mute", lambda i, p: {"id": i}),
    CommandRow("thermostat", "dhi.thermostat", "set:target_temperature", "Thermostat.SetConfig",
               lambda i, p: {"id": i, "config": {"target_C": p["target_temperature"]}}),
    CommandRow("thermostat", "x.shelly.thermostat", "set:enable", "Thermostat.SetConfig",
               lambda i, p: {"id": i, "config": {"enable": p["enable"]}}),
)  # fmt: skip


def commands_of(kind: str, capability: str) -> list[str]:
    """Catalog commands a component kind supports for a capability (for the description)."""
    return [
        r.command for r in COMMANDS if r.kind == kind and r.capability == capability and ":" not in r.command
    ]


# ---------------------------------------------------------------- RPC errors


@dataclass(frozen=True)
class ErrorRow:
    code: int
    error: type[HubError]
    meaning: str


#: Shelly Gen2 RPC error codes ("common errors" of the Gen2 API) -> DHI error classes.
RPC_ERRORS: tuple[ErrorRow, ...] = (
    ErrorRow(-103, InvalidParams, "invalid argument"),
    ErrorRow(-104, CommandTimeout, "deadline exceeded"),
    ErrorRow(-105, Unsupported, "not found"),
    ErrorRow(-108, Unsupported, "failed precondition"),
    ErrorRow(-109, DeviceUnavailable, "unavailable"),
    ErrorRow(401, AdapterError, "authentication required (digest auth is not supported over MQTT by dhome)"),
    ErrorRow(404, Unsupported, "no such method"),
)


def rpc_error(code: Any, message: Any) -> HubError:
    row = next((r for r in RPC_ERRORS if r.code == code), None)
    text = f"Shelly RPC error {code}: {message}"
    if row is None:
        return AdapterError(text)
    return row.error(f"{text} ({row.meaning})")
