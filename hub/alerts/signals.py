"""Which catalog readings mean what to the alert engine: one row per (capability, property or
event). Names come from ``spec/interface/catalog`` (a test checks every row against it).

* ``TRIGGERS`` and ``THRESHOLDS`` are gathered from the rule modules (``hub/alerts/rules``).
* ``ActivitySignal`` rows say what counts as a sign of life for the inactivity and
  night-activity rules (someone moved, opened a door, used water, pressed a button).
* ``DoorSignal`` rows say what is a door being open or closed (door-left-open, exit at night).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hub.alerts.rule import AlertRule, Predicate, Trigger, changed, is_false, is_true, one_of, positive
from hub.alerts.rules import rules

TRIGGERS: tuple[Trigger, ...] = tuple(t for rule in rules().values() for t in rule.triggers)
THRESHOLDS: tuple[AlertRule, ...] = tuple(rule for rule in rules().values() if rule.threshold is not None)


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
def thresholds_for(capability: str, prop: str) -> tuple[AlertRule, ...]:
    return tuple(r for r in THRESHOLDS if r.threshold == (capability, prop))


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
    | {r.threshold for r in THRESHOLDS if r.threshold is not None}
    | {BATTERY_READING}
)
