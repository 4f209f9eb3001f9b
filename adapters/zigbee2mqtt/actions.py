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


@dataclass(frozen=True)
class ActionVocabulary:
    """What the values an ``action`` expose lists can mean."""

    gestures: dict[str, Gesture] = field(default_factory=dict)
    commands: frozenset[str] = frozenset()
    other: frozenset[str] = frozenset()


def classify_values(values: Iterable[Any]) -> ActionVocabulary:
    gestures: dict[str, Gesture] = {}
    commands: set[str] = set()
    other: set[str] = set()
    for raw in values:
        if not isinstance(raw, str):
            other.add(str(raw))
            continue
        p = parse(raw)
        if p.gesture is not None:
            gestures[raw] = p.gesture
        elif p.command is not None:
            commands.add(raw)
        else:
            other.add(raw)
    return ActionVocabulary(gestures, frozenset(commands), frozenset(other))
