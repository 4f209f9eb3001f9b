"""Which catalog readings mean what to the alert engine: one row per (capability, property or
event). Names come from ``spec/interface/catalog`` (a test checks every row against it).

* ``Trigger`` rows turn a reading into an alert condition of a kind. A property row is a
  *condition* (active while ``active(value)`` is true, ended when false); an event row either
  starts a condition (``ends=False``: momentary, like a button press) or ends one.
* ``ActivitySignal`` rows say what counts as a sign of life for the inactivity and
  night-activity rules (someone moved, opened a door, used water, pressed a button).
* ``DoorSignal`` rows say what is a door being open or closed (door-left-open, exit at night).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from dhi.models.alert import AlertKind

Predicate = Callable[[Any], bool]


def is_true(value: Any) -> bool:
    return value is True


def is_false(value: Any) -> bool:
    return value is False


def one_of(*values: str) -> Predicate:
    allowed = frozenset(values)

    def check(value: Any) -> bool:
        return isinstance(value, str) and value in allowed

    return check


def changed(value: Any) -> bool:
    """Any change at all (a contact toggling either way is someone at the door). The engine
    skips a device's first report of such a property: that is its initial state, not a change."""
    return True


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: AlertKind
    capability: str
    property: str | None = None
    event: str | None = None
    active: Predicate = is_true
    ends: bool = False
    #: only for devices that carry a safety capability (battery, availability)
    safety_only: bool = False


TRIGGERS: tuple[Trigger, ...] = (
    Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", property="smoke"),
    Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", event="alarm"),
    Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", event="cleared", ends=True),
    Trigger(AlertKind.CO, "dhi.co_alarm", property="carbon_monoxide"),
    Trigger(AlertKind.CO, "dhi.co_alarm", event="alarm"),
    Trigger(AlertKind.CO, "dhi.co_alarm", event="cleared", ends=True),
    Trigger(AlertKind.GAS_LEAK, "dhi.gas_leak", property="gas"),
    Trigger(AlertKind.GAS_LEAK, "dhi.gas_leak", event="alarm"),
    Trigger(AlertKind.GAS_LEAK, "dhi.gas_leak", event="cleared", ends=True),
    Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", property="water_leak"),
    Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", event="alarm"),
    Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", event="cleared", ends=True),
    # an SOS press is momentary; `active` is the device's own latched alarm, reset clears it
    Trigger(AlertKind.SOS, "dhi.sos", event="pressed"),
    Trigger(AlertKind.SOS, "dhi.sos", property="active"),
    Trigger(AlertKind.SOS, "dhi.security_keypad", event="panic"),
    # a radar reports `suspected` while it confirms: only a confirmed fall (or its event) alerts
    Trigger(AlertKind.FALL, "dhi.fall_detection", property="state", active=one_of("fallen")),
    Trigger(AlertKind.FALL, "dhi.fall_detection", event="fall_detected"),
    Trigger(AlertKind.FALL, "dhi.fall_detection", event="cleared", ends=True),
    Trigger(AlertKind.TAMPER, "dhi.tamper", property="tamper", safety_only=True),
    Trigger(AlertKind.TAMPER, "dhi.tamper", event="tampered", safety_only=True),
    Trigger(AlertKind.TAMPER, "dhi.tamper", event="cleared", ends=True, safety_only=True),
    # devices that compute inactivity themselves (care radars) report it directly
    Trigger(AlertKind.INACTIVITY, "dhi.inactivity", property="inactive"),
    Trigger(AlertKind.INACTIVITY, "dhi.inactivity", event="inactivity_detected"),
    Trigger(AlertKind.INACTIVITY, "dhi.inactivity", event="activity_resumed", ends=True),
    Trigger(AlertKind.LOW_BATTERY, "dhi.battery", property="low", safety_only=True),
    Trigger(
        AlertKind.LOW_BATTERY,
        "dhi.battery",
        property="charge_level",
        active=one_of("warning", "critical"),
        safety_only=True,
    ),
    Trigger(AlertKind.LOW_BATTERY, "dhi.battery", event="low_battery", safety_only=True),
)


#: The reading the heat rule watches (threshold and hysteresis in ``alerts.rules.heat``).
HEAT_READING = ("dhi.temperature", "temperature")


@dataclass(frozen=True, slots=True)
class ActivitySignal:
    capability: str
    property: str | None = None
    event: str | None = None
    active: Predicate = is_true


ACTIVITY: tuple[ActivitySignal, ...] = (
    ActivitySignal("dhi.motion", property="motion"),
    ActivitySignal("dhi.motion", event="motion_detected"),
    ActivitySignal("dhi.occupancy", property="occupied"),
    ActivitySignal("dhi.presence", property="presence"),
    ActivitySignal("dhi.activity", property="activity", active=one_of("small_movement", "large_movement")),
    ActivitySignal("dhi.contact", property="contact", active=changed),
    ActivitySignal("dhi.lock", event="lock_operation"),
    ActivitySignal("dhi.water_meter", property="flow", active=positive),
    ActivitySignal("dhi.water_meter", property="volume", active=changed),
    ActivitySignal("dhi.button", event="pressed"),
    ActivitySignal("dhi.button", event="double_pressed"),
    ActivitySignal("dhi.button", event="long_pressed"),
    ActivitySignal("dhi.on_off", property="on", active=changed),
    ActivitySignal("dhi.bed_occupancy", event="got_in"),
    ActivitySignal("dhi.bed_occupancy", event="got_out"),
    ActivitySignal("dhi.sos", event="pressed"),
)


@dataclass(frozen=True, slots=True)
class DoorSignal:
    capability: str
    property: str
    is_open: Predicate


DOORS: tuple[DoorSignal, ...] = (
    DoorSignal("dhi.contact", "contact", is_false),  # contact true = the two parts touch = closed
    DoorSignal("dhi.lock", "door_state", one_of("open", "ajar", "forced_open")),
)


#: The battery reading the low-battery rule compares with its threshold (safety devices).
BATTERY_READING = ("dhi.battery", "percentage")

# Looked up for every state change and event the hub ingests: cached per (capability, name).


@cache
def triggers_for_property(capability: str, prop: str) -> tuple[Trigger, ...]:
    return tuple(t for t in TRIGGERS if t.capability == capability and t.property == prop)


@cache
def triggers_for_event(capability: str, event: str) -> tuple[Trigger, ...]:
    return tuple(t for t in TRIGGERS if t.capability == capability and t.event == event)


@cache
def activity_for_property(capability: str, prop: str) -> ActivitySignal | None:
    return next((a for a in ACTIVITY if a.capability == capability and a.property == prop), None)


@cache
def activity_for_event(capability: str, event: str) -> ActivitySignal | None:
    return next((a for a in ACTIVITY if a.capability == capability and a.event == event), None)


@cache
def door_for_property(capability: str, prop: str) -> DoorSignal | None:
    return next((d for d in DOORS if d.capability == capability and d.property == prop), None)


#: Every (capability, property) some rule reads; a change of any other property (a humidity,
#: a power reading) cannot start, end or time anything, and the engine skips it at once.
WATCHED_PROPERTIES: frozenset[tuple[str, str]] = frozenset(
    {(t.capability, t.property) for t in TRIGGERS if t.property is not None}
    | {(a.capability, a.property) for a in ACTIVITY if a.property is not None}
    | {(d.capability, d.property) for d in DOORS}
    | {HEAT_READING, BATTERY_READING}
)
