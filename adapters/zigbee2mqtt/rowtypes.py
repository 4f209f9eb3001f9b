"""The shapes of the mapping tables (the tables themselves are in ``rows.py``).

A ``StdRow`` says: an expose with this name (and kind, and parent specific expose) fills
this catalog capability — one property (``ToProperty``), several properties from the
features of a composite (``ToFeatures``), or events (``ToAction`` / ``ToEventField``).
A ``CommandRow`` says how a catalog command becomes a ``/set`` payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.zigbee2mqtt.converters import Factory, auto
from adapters.zigbee2mqtt.exposes import Expose

#: parent kind of an expose that is not a feature of a specific expose
TOP = "top"
#: any parent
ANY = "*"


@dataclass(frozen=True)
class Match:
    """Which exposes a row applies to. Cheap structural checks first, ``check`` last."""

    names: tuple[str, ...]
    types: tuple[str, ...] = ()
    parents: tuple[str, ...] = (ANY,)
    check: Callable[[Expose], bool] | None = None

    def accepts(self, expose: Expose, parent: str) -> bool:
        if expose.base_name not in self.names:
            return False
        if self.types and expose.type not in self.types:
            return False
        if ANY not in self.parents and parent not in self.parents:
            return False
        return self.check is None or self.check(expose)


@dataclass(frozen=True)
class ToProperty:
    capability: str
    property: str
    convert: Factory = field(default_factory=auto)
    #: put the binding in this component instead of the expose's endpoint (``phase_b``)
    component: str | None = None


@dataclass(frozen=True)
class ToFeatures:
    """A composite whose features fill several properties of one capability; features
    without an entry stay vendor properties of the same device."""

    capability: str
    features: Mapping[str, tuple[str, Factory]]


@dataclass(frozen=True)
class ToAction:
    """The ``action`` expose: every value lands in ``button.last_action``; values that
    read as gestures are also button events, values that read as commands remote events."""

    button: str = "dhi.button"
    remote: str = "dhi.remote_control"


@dataclass(frozen=True)
class ToEventField:
    """A companion of ``action`` (``action_group`` …): a field of the event it accompanies."""

    capability: str
    field: str


@dataclass(frozen=True)
class ToTrigger:
    """A write-only expose that only serves catalog commands (``identify``, ``warning``);
    ``name`` (``@identify``) is what ``CommandRow.needs`` refers to."""

    capability: str
    name: str


@dataclass(frozen=True)
class ToEvent:
    """A binary whose ``value_on`` is a moment, not a state (``doorbell``): an event."""

    capability: str
    event: str


Target = ToProperty | ToFeatures | ToAction | ToEventField | ToTrigger | ToEvent


@dataclass(frozen=True)
class StdRow:
    match: Match
    target: Target
    note: str | None = None


class CommandCtx(Protocol):
    """What a command builder sees: the bindings of one capability on one component."""

    @property
    def bindings(self) -> Mapping[str, Any]: ...

    def key(self, member: str) -> str: ...

    def expose(self, member: str) -> Expose: ...

    def sibling_key(self, member: str, name: str) -> str: ...

    def payload_for(self, member: str, value: Any) -> dict[str, Any]: ...

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]: ...

    def unsupported(self, message: str) -> Exception: ...


@dataclass(frozen=True)
class CommandRow:
    """Catalog command -> Zigbee2MQTT ``/set`` payload.

    ``needs`` are the DHI properties that must be bound (and settable) on the component
    for the command to be offered; ``build(ctx, params)`` returns the payload.
    """

    capability: str
    command: str
    needs: tuple[str, ...]
    build: Callable[[CommandCtx, dict[str, Any]], dict[str, Any]]
    needs_toggle: bool = False
    #: triggers/properties the command uses when the device has them
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransitionRow:
    """Events raised when a mapped property changes: a boolean rising (``on_true``) or
    falling back (``on_false``), or an enum reaching one of ``values``."""

    on_true: tuple[str, dict[str, Any]] | None = None
    on_false: tuple[str, dict[str, Any]] | None = None
    values: Mapping[Any, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    capability: str = ""
    property: str = ""

    def at(self, capability: str, prop: str) -> TransitionRow:
        return TransitionRow(self.on_true, self.on_false, self.values, capability, prop)

    def event_for(self, before: Any, value: Any) -> tuple[str, dict[str, Any]] | None:
        if value is True and before is not True:
            return self.on_true
        if value is False and before is True:
            return self.on_false
        if not isinstance(value, bool) and value in self.values:
            event = self.values[value]
            # a "cleared" needs something to clear
            if event[0] == "cleared" and (before is None or before == value):
                return None
            return event
        return None
