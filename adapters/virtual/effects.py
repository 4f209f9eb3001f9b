"""What a command does to a virtual device: a table of rows ``(capability, command) → property
updates``, plus a generic fallback for commands whose parameters name properties
(``set_level {level: 40}`` sets ``level``). A command with neither is ``unsupported``.

Sources say where a new value comes from (a constant, a parameter, the opposite of the
current value, a bound of the property's range, …). Rows are checked against the catalog by
the tests, so a row naming a missing capability, command, property or parameter fails CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from dhi.catalog import check_value
from dhi.errors import NotWritable, UnknownProperty, Unsupported
from dhi.models.catalog import CapabilityDef, PropertyDef
from dhi.models.command import SET_COMMAND
from dhi.models.device import CapabilityInstance, PropertyConstraint


class _Skip:
    """Leave the property as it is (e.g. an optional parameter that was not given)."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()


@dataclass(frozen=True)
class Env:
    prop: PropertyDef
    constraint: PropertyConstraint | None
    current: Mapping[str, Any]
    params: Mapping[str, Any]

    def bound(self, which: Literal["minimum", "maximum"]) -> float | None:
        if self.constraint is not None and getattr(self.constraint, which) is not None:
            value: float | None = getattr(self.constraint, which)
            return value
        result: float | None = getattr(self.prop, which)
        return result


class Source(Protocol):
    def resolve(self, env: Env) -> Any: ...


@dataclass(frozen=True)
class Const:
    value: Any

    def resolve(self, env: Env) -> Any:
        return self.value


@dataclass(frozen=True)
class Param:
    """The command parameter ``name``; when it was not given, ``otherwise`` (or leave unchanged)."""

    name: str
    otherwise: Source | None = None

    def resolve(self, env: Env) -> Any:
        if self.name in env.params:
            return env.params[self.name]
        return SKIP if self.otherwise is None else self.otherwise.resolve(env)


@dataclass(frozen=True)
class Toggle:
    def resolve(self, env: Env) -> Any:
        return not bool(env.current.get(env.prop.name))


@dataclass(frozen=True)
class Copy:
    """The current value of another property of the same capability."""

    prop: str

    def resolve(self, env: Env) -> Any:
        return env.current.get(self.prop, SKIP)


@dataclass(frozen=True)
class Bound:
    """The end of the property's range a movement ends at (a virtual device arrives at once)."""

    which: Literal["minimum", "maximum"]

    def resolve(self, env: Env) -> Any:
        value = env.bound(self.which)
        return SKIP if value is None else value


@dataclass(frozen=True)
class Choose:
    """Pick a source by the value of a parameter (``direction: up`` → maximum); others: unchanged."""

    param: str
    choices: Mapping[str, Source]

    def resolve(self, env: Env) -> Any:
        chosen = self.choices.get(str(env.params.get(self.param)))
        return SKIP if chosen is None else chosen.resolve(env)


@dataclass(frozen=True)
class Add:
    """Current value + ``sign * by``, kept inside the range (and below property ``upper``)."""

    by: Source
    sign: int = 1
    upper: str | None = None

    def resolve(self, env: Env) -> Any:
        amount = self.by.resolve(env)
        if amount is SKIP:
            return SKIP
        current = env.current.get(env.prop.name)
        if not isinstance(current, int | float) or isinstance(current, bool):
            current = env.bound("minimum") or 0
        value = current + self.sign * amount
        lo, hi = env.bound("minimum"), env.bound("maximum")
        limit = env.current.get(self.upper) if self.upper else None
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            hi = limit if hi is None else min(hi, limit)
        if lo is not None:
            value = max(lo, value)
        if hi is not None:
            value = min(hi, value)
        return value


@dataclass(frozen=True)
class Emit:
    """An event the command makes the device report (``self_test`` → ``self_test_complete``)."""

    event: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    capability: str
    command: str
    sets: Mapping[str, Source] = field(default_factory=dict)
    emits: tuple[Emit, ...] = ()
    #: why the row exists when it changes nothing (e.g. ``stop`` of an instant movement)
    note: str | None = None


@dataclass(frozen=True)
class Plan:
    """What executing a command does: property updates, then events."""

    updates: dict[str, Any]
    events: tuple[Emit, ...] = ()


_UP_DOWN = {"up": Bound("maximum"), "down": Bound("minimum")}
_STEP = {"up": Add(Param("step_size")), "down": Add(Param("step_size"), sign=-1)}
_FAN_STEP = {"increase": Add(Const(1), upper="speed_max"), "decrease": Add(Const(1), sign=-1)}
_HEAT = {"heat": Add(Param("amount")), "both": Add(Param("amount"))}
_COOL = {"cool": Add(Param("amount")), "both": Add(Param("amount"))}
_NO_STATE = "the command changes no reported property"

#: The effect table. Commands whose parameters simply name properties need no row.
EFFECTS: list[Effect] = [
    # control, lighting
    Effect("dhi.on_off", "on", {"on": Const(True)}),
    Effect("dhi.on_off", "off", {"on": Const(False)}),
    Effect("dhi.on_off", "toggle", {"on": Toggle()}),
    Effect("dhi.level", "set_level", {"level": Param("level")}),
    Effect("dhi.level", "step", {"level": Choose("direction", _STEP)}),
    Effect("dhi.level", "move", {"level": Choose("direction", _UP_DOWN)}),
    Effect("dhi.level", "stop", note="a virtual level arrives at once, so there is no movement to stop"),
    Effect("dhi.color_temperature", "set_color_temperature", {"color_temperature": Param("color_temperature")}),
    Effect("dhi.color", "set_xy", {"color_mode": Const("xy"), "x": Param("x"), "y": Param("y")}),
    Effect("dhi.color", "set_hs", {"color_mode": Const("hs"), "hue": Param("hue"), "saturation": Param("saturation")}),
    Effect("dhi.light_effect", "set_effect", {"effect": Param("effect"), "speed": Param("speed")}),
    Effect("dhi.light_effect", "stop_effect", {"effect": Const(None)}),
    Effect("dhi.color_gradient", "set_gradient", {
        "colors": Param("colors"), "style": Param("style"), "scale": Param("scale"), "offset": Param("offset"),
    }),
    Effect("dhi.scene", "recall", {"current_scene": Param("scene")}),
    Effect("dhi.scene", "store", note=_NO_STATE),
    Effect("dhi.co2", "calibrate", note="a virtual CO2 sensor reads true: calibration changes no reported property"),
    Effect("dhi.co2", "reset_calibration", note=_NO_STATE),
    # device
    # without a duration the device picks one; the virtual one identifies for 10 s
    Effect("dhi.identify", "identify", {"identify_time": Param("duration", otherwise=Const(10))}),
    # the virtual vendor server answers at once with the latest_version it already announced
    Effect("dhi.firmware_update", "check", {"state": Const("idle")}),
    Effect("dhi.firmware_update", "install", {
        "state": Const("idle"), "installed_version": Copy("latest_version"), "progress": Const(100.0),
    }),
    # climate
    Effect("dhi.thermostat", "setpoint_raise_lower", {
        "heating_setpoint": Choose("mode", _HEAT), "cooling_setpoint": Choose("mode", _COOL),
    }),
    Effect("dhi.thermostat_schedule", "set_schedule", {"schedule": Param("schedule")}),
    Effect("dhi.fan", "step", {"speed_level": Choose("direction", _FAN_STEP)}),
    Effect("dhi.air_purifier", "reset_filter", {"filter_life": Const(100.0), "filter_change_needed": Const(False)}),
    # covering
    Effect("dhi.window_covering", "open", {"position": Bound("maximum"), "moving": Const("stopped")}),
    Effect("dhi.window_covering", "close", {"position": Bound("minimum"), "moving": Const("stopped")}),
    Effect("dhi.window_covering", "stop", {"moving": Const("stopped")}),
    Effect("dhi.window_covering", "set_position", {"position": Param("position"), "moving": Const("stopped")}),
    Effect("dhi.window_covering", "set_tilt", {"tilt": Param("tilt")}),
    Effect("dhi.window_covering", "calibrate", {"moving": Const("stopped")},
           note="a virtual covering knows its travel limits: calibration ends at once"),
    Effect("dhi.valve", "open", {
        "state": Const("open"),
        "level": Param("level", otherwise=Const(100.0)),
        "remaining_duration": Param("duration", otherwise=Const(0)),
    }),
    Effect("dhi.valve", "close", {"state": Const("closed"), "level": Const(0.0), "remaining_duration": Const(0)}),
    # appliance: a virtual cycle has no phases; it starts, pauses, resumes and stops at once
    Effect("dhi.operational_state", "start", {"state": Const("running"), "error": Const(None)}),
    Effect("dhi.operational_state", "stop", {"state": Const("stopped"), "remaining_time": Const(0)}),
    Effect("dhi.operational_state", "pause", {"state": Const("paused")}),
    Effect("dhi.operational_state", "resume", {"state": Const("running")}),
    Effect("dhi.operational_state", "go_home", {"state": Const("docked")}),
    Effect("dhi.service_area", "select_areas", {"selected_areas": Param("areas")}),
    Effect("dhi.appliance_alarm", "reset", {"alarms": Const([])}),
    Effect("dhi.water_heater", "boost", {"boost": Const(True)}),
    Effect("dhi.water_heater", "cancel_boost", {"boost": Const(False)}),
    Effect("dhi.chime", "play", note="a chime's sound is heard, never reported state"),
    # energy
    Effect("dhi.energy", "reset", {"energy": Const(0.0), "produced_energy": Const(0.0), "energy_today": Const(0.0)}),
    # safety: a virtual self-test finishes at once, and passes
    Effect("dhi.smoke_alarm", "self_test", {"test_in_progress": Const(False)},
           emits=(Emit("self_test_complete", {"passed": True}),)),
    Effect("dhi.smoke_alarm", "mute", {"muted": Const(True)}),
    Effect("dhi.co_alarm", "self_test", {"test_in_progress": Const(False)},
           emits=(Emit("self_test_complete", {"passed": True}),)),
    Effect("dhi.siren", "start", {"active": Const(True), "volume": Param("volume"), "duration": Param("duration")}),
    Effect("dhi.siren", "stop", {"active": Const(False)}),
    # security
    Effect("dhi.lock", "lock", {"lock_state": Const("locked")},
           emits=(Emit("lock_operation", {"operation": "lock", "source": "remote"}),)),
    Effect("dhi.lock", "unlock", {"lock_state": Const("unlocked")},
           emits=(Emit("lock_operation", {"operation": "unlock", "source": "remote"}),)),
    Effect("dhi.lock", "unbolt", {"lock_state": Const("unlocked")},
           emits=(Emit("lock_operation", {"operation": "unlock", "source": "remote"}),)),
    Effect("dhi.lock", "set_pin_code", note="PIN codes are credentials, never reported state"),
    Effect("dhi.lock", "clear_pin_code", note="PIN codes are credentials, never reported state"),
]  # fmt: skip

EFFECT_INDEX: dict[tuple[str, str], Effect] = {(e.capability, e.command): e for e in EFFECTS}


def _supported(inst: CapabilityInstance, definition: CapabilityDef) -> dict[str, PropertyDef]:
    return {p.name: p for p in definition.properties if inst.properties is None or p.name in inst.properties}


def plan_command(
    inst: CapabilityInstance,
    definition: CapabilityDef,
    command: str,
    params: Mapping[str, Any],
    current: Mapping[str, Any],
) -> Plan:
    """What ``command`` does; raises a ``HubError`` (``unsupported`` …) when it does nothing known.

    Every update is checked against the catalog, so a device never reports an invalid value.
    """
    props = _supported(inst, definition)
    emits: tuple[Emit, ...] = ()
    if command == SET_COMMAND and definition.command(SET_COMMAND) is None:
        sources: Mapping[str, Source] = {}
        for name in params:
            prop = props.get(name)
            if prop is None:
                raise UnknownProperty(f"{definition.id} has no property {name!r}", field=f"params.{name}")
            if not prop.writable:
                raise NotWritable(f"{definition.id}.{name} is read-only", field=f"params.{name}")
        sources = {name: Param(name) for name in params}
    else:
        effect = EFFECT_INDEX.get((definition.id, command))
        if effect is not None:
            sources, emits = effect.sets, effect.emits
        else:
            # generic fallback: parameters that name properties of the capability set them
            sources = {name: Param(name) for name in params if name in props}
            if not sources:
                raise Unsupported(
                    f"the virtual {definition.id} has no effect defined for command {command!r}",
                    field="command",
                )
    updates: dict[str, Any] = {}
    for name, source in sources.items():
        prop = props.get(name)
        if prop is None:
            continue  # the device implements only part of the capability
        constraint = (inst.constraints or {}).get(name)
        value = source.resolve(Env(prop, constraint, current, params))
        if value is SKIP:
            continue
        value = _coerce(prop, value)
        check_value(prop, value, f"params.{name}", constraint)
        updates[name] = value
    supported_events = [e for e in emits if inst.events is None or e.event in inst.events]
    return Plan(updates, tuple(supported_events))


def _coerce(prop: PropertyDef, value: Any) -> Any:
    """Integers computed as floats (a step of 10.0) go back to int for integer properties."""
    if prop.type.value == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
