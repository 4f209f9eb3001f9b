"""Reading Zigbee2MQTT ``action`` values: button gestures vs. remote-control commands.

Zigbee2MQTT publishes what a button or remote did as the transient ``action`` value:
gestures (``single``, ``double``, ``hold``, ``release``, often with the button named
before or after: ``1_single``, ``single_left``, ``button_2_hold``) and commands a remote
sends to lights (``on``, ``off``, ``brightness_move_up``, ``recall_1`` …). Both tables
below are data; a value that is neither still reaches the hub as ``last_action``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Gesture:
    event: str
    count: int | None = None


#: gesture word -> DHI dhi.button event
GESTURES: dict[str, Gesture] = {
    "single": Gesture("pressed"),
    "press": Gesture("pressed"),
    "pressed": Gesture("pressed"),
    "click": Gesture("pressed"),
    "short": Gesture("pressed"),
    "double": Gesture("double_pressed"),
    "double_press": Gesture("double_pressed"),
    "double_click": Gesture("double_pressed"),
    "triple": Gesture("multi_pressed", 3),
    "quadruple": Gesture("multi_pressed", 4),
    "quintuple": Gesture("multi_pressed", 5),
    "many": Gesture("multi_pressed"),
    "multiple": Gesture("multi_pressed"),
    "hold": Gesture("long_pressed"),
    "long": Gesture("long_pressed"),
    "long_press": Gesture("long_pressed"),
    "held": Gesture("long_pressed"),
    "release": Gesture("released"),
    "released": Gesture("released"),
    "hold_release": Gesture("released"),
    "long_release": Gesture("released"),
}

#: Remote-control commands (what a remote asks a light to do): exact words and prefixes.
COMMAND_WORDS = frozenset(
    {"on", "off", "toggle", "stop", "open", "close", "up", "down", "arm", "disarm", "emergency", "panic"}
)
COMMAND_PREFIXES = (
    "on_",
    "off_",
    "toggle_",
    "brightness_",
    "color_",
    "colour_",
    "hue_",
    "saturation_",
    "color_temperature_",
    "recall_",
    "store_",
    "scene_",
    "enhanced_",
    "step_",
    "move_",
    "arm_",
    "disarm",
)

_GESTURE_RE = re.compile(
    r"^(?:(?P<pre>.+?)_)?(?P<g>"
    + "|".join(sorted(map(re.escape, GESTURES), key=len, reverse=True))
    + r")(?:_(?P<post>.+))?$"
)


@dataclass(frozen=True)
class Parsed:
    gesture: Gesture | None
    button: str | None
    command: str | None


def parse(value: str) -> Parsed:
    """Split one action value into gesture + button, or a remote command."""
    v = value.strip()
    if not v:
        return Parsed(None, None, None)
    m = _GESTURE_RE.match(v)
    if m is not None and not _is_command(v):
        button = m.group("pre") or m.group("post")
        return Parsed(GESTURES[m.group("g")], button, None)
    if _is_command(v):
        return Parsed(None, None, v)
    return Parsed(None, None, None)


def _is_command(v: str) -> bool:
    return v in COMMAND_WORDS or v.startswith(COMMAND_PREFIXES)


# ---------------------------------------------------------------- locks and keypads
# Some devices report what *they* did through ``action``: a lock was locked with a key, a
# keypad asks for a mode. Those are events of the device's own capability, not gestures.

LOCK = "dhi.lock"
KEYPAD = "dhi.security_keypad"


@dataclass(frozen=True)
class DeviceEvent:
    capability: str
    event: str
    payload: tuple[tuple[str, str], ...] = ()


#: who or what operated a lock: the prefix of ``<source>_lock`` / ``<source>_unlock``
LOCK_SOURCES: dict[str, str] = {
    "manual": "manual",
    "key": "manual",
    "keypad": "keypad",
    "pin": "keypad",
    "password": "keypad",
    "rfid": "rfid",
    "card": "rfid",
    "fingerprint": "biometric",
    "auto": "auto",
    "schedule": "schedule",
    "zigbee": "remote",
    "remote": "remote",
    "app": "remote",
    "one_touch": "button",
}
#: the reason after ``<operation>_failure_``
LOCK_ERRORS: dict[str, str] = {
    "invalid_pin_or_id": "invalid_credential",
    "invalid_pin": "invalid_credential",
    "invalid_id": "invalid_credential",
    "invalid_schedule": "restricted",
    "disabled_user": "disabled_user_denied",
    "low_battery": "insufficient_battery",
}
LOCK_WORDS: dict[str, DeviceEvent] = {
    "non_access_user_operational_event": DeviceEvent(
        LOCK, "lock_operation", (("operation", "non_access_user_event"),)
    ),
    "forced_user_event": DeviceEvent(LOCK, "lock_operation", (("operation", "forced_user_event"),)),
}
#: keypad words; those marked True only a keypad uses, so they tell a keypad from a remote
KEYPAD_WORDS: dict[str, tuple[DeviceEvent, bool]] = {
    "arm_day_zones": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "arm_home"),)), True),
    "arm_night_zones": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "arm_night"),)), True),
    "arm_partial_zones": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "arm_home"),)), True),
    "arm_all_zones": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "arm_away"),)), True),
    "exit_delay": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "exit_delay"),)), True),
    "disarm": (DeviceEvent(KEYPAD, "arm_requested", (("mode", "disarm"),)), False),
    "panic": (DeviceEvent(KEYPAD, "panic"), False),
    "emergency": (DeviceEvent(KEYPAD, "panic"), False),
}
_LOCK_RE = re.compile(r"^(?:(?P<src>[a-z_]+?)_)?(?P<op>lock|unlock)$")
_LOCK_FAILURE_RE = re.compile(r"^(?P<op>lock|unlock)_failure(?:_(?P<why>[a-z_]+))?$")


def lock_event(value: str) -> DeviceEvent | None:
    """``manual_unlock`` -> lock_operation {unlock, manual}; ``lock_failure_invalid_pin_or_id``
    -> lock_operation_error; ``child_lock`` and other look-alikes -> None."""
    if value in LOCK_WORDS:
        return LOCK_WORDS[value]
    m = _LOCK_RE.match(value)
    if m is not None:
        src = m.group("src")
        if src is not None and src not in LOCK_SOURCES:
            return None
        source = LOCK_SOURCES[src] if src is not None else "unspecified"
        return DeviceEvent(LOCK, "lock_operation", (("operation", m.group("op")), ("source", source)))
    m = _LOCK_FAILURE_RE.match(value)
    if m is not None:
        error = LOCK_ERRORS.get(m.group("why") or "", "unspecified")
        return DeviceEvent(LOCK, "lock_operation_error", (("operation", m.group("op")), ("error", error)))
    return None


@dataclass(frozen=True)
class ActionVocabulary:
    """What the values an ``action`` expose lists can mean."""

    gestures: dict[str, Gesture] = field(default_factory=dict)
    commands: frozenset[str] = frozenset()
    other: frozenset[str] = frozenset()
    #: values that are events of a lock or keypad capability
    device_events: dict[str, DeviceEvent] = field(default_factory=dict)

    def device_capabilities(self) -> frozenset[str]:
        return frozenset(d.capability for d in self.device_events.values())


def classify_values(values: Iterable[Any]) -> ActionVocabulary:
    gestures: dict[str, Gesture] = {}
    commands: set[str] = set()
    other: set[str] = set()
    device_events: dict[str, DeviceEvent] = {}
    listed = [v for v in values if isinstance(v, str)]
    other |= {str(v) for v in values if not isinstance(v, str)}
    keypad = any(KEYPAD_WORDS[v][1] for v in listed if v in KEYPAD_WORDS)
    for raw in listed:
        if keypad and raw in KEYPAD_WORDS:
            device_events[raw] = KEYPAD_WORDS[raw][0]
            continue
        p = parse(raw)
        lock = lock_event(raw) if p.gesture is None and p.command is None else None
        if p.gesture is not None:
            gestures[raw] = p.gesture
        elif p.command is not None:
            commands.add(raw)
        elif lock is not None:
            device_events[raw] = lock
        else:
            other.add(raw)
    return ActionVocabulary(gestures, frozenset(commands), frozenset(other), device_events)
