"""What an alert rule is made of: the kind it raises, how it tracks it, its config model and
the readings that start and end it. Each kind's rule is one module in ``hub/alerts/rules``.

* ``Trigger`` rows turn a reading into an alert condition of a kind. A property row is a
  *condition* (active while ``active(value)`` is true, ended when false); an event row either
  starts a condition (``ends=False``: momentary, like a button press) or ends one.
* A ``threshold`` reading is a number compared with the rule config's ``threshold`` (at or
  above: active) and ``hysteresis`` (below ``threshold - hysteresis``: ended).
* Kinds whose detection needs timers or history (door open too long, device offline,
  inactivity, night activity, low battery by percentage) are hooks of the engine; their rule
  module declares the kind, its tracking and its config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dhi.models.alert import AlertKind
from hub.alerts.config import RuleConfig

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


def alarm_triggers(kind: AlertKind, capability: str, prop: str) -> tuple[Trigger, ...]:
    """The triggers of a catalog alarm capability: its boolean ``prop`` is the condition, its
    ``alarm`` event starts one and its ``cleared`` event ends it."""
    return (
        Trigger(kind, capability, property=prop),
        Trigger(kind, capability, event="alarm"),
        Trigger(kind, capability, event="cleared", ends=True),
    )


class Scope(StrEnum):
    """What one alert covers: repeats within the scope update it instead of raising another."""

    ROOM = "room"  # two smoke detectors in one kitchen are one fire
    DEVICE = "device"  # each offline or low-battery device needs its own fix
    HOME = "home"  # inactivity is about the resident, not a sensor


@dataclass(frozen=True, slots=True)
class AlertRule:
    kind: AlertKind
    #: a latching alert stays until acknowledged, even when its condition is over (a fire panel
    #: keeps its alarm until reset); a non-latching one clears by itself
    latching: bool
    scope: Scope
    #: the rule's section under ``alerts.rules.<kind>`` (a ``ThresholdRule`` for threshold rules)
    config: type[RuleConfig] = RuleConfig
    triggers: tuple[Trigger, ...] = ()
    #: (capability, property) of a numeric reading compared with the config's threshold
    threshold: tuple[str, str] | None = None
