"""The shape of a mapping row (in the style of Home Assistant's Matter discovery schemas).

A :class:`Row` says: *on an endpoint whose cluster ``cluster`` reports the ``required``
attributes (and which passes the other predicates), this cluster is DHI capability
``capability``* — with one :class:`Prop` per Matter attribute -> DHI property (plus its
converter and how a ``set`` reaches the device), one :class:`Cmd` per DHI command ->
Matter cluster command, and one :class:`Evt` per Matter event -> DHI event.

Predicates are checked cheapest first (structure before values), as in the matcher of
Home Assistant's Matter integration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from adapters.matter.convert import INT
from adapters.matter.node import Endpoint
from adapters.sdk.convert import Converter
from dhi.models.catalog import CapabilityDef


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: "no default": the DHI parameter is required
MISSING: Final = _Missing()


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: leave the (optional) Matter field out when the DHI parameter is absent
OMIT: Final = _Omit()


@dataclass(frozen=True)
class Write:
    """``set`` writes the attribute with ``write_attribute`` (the reverse converter applied)."""


@dataclass(frozen=True)
class Via:
    """``set`` runs the DHI command ``command`` with ``{param: value}``."""

    command: str
    param: str


@dataclass(frozen=True)
class ViaBool:
    """``set`` of a boolean runs one of two DHI commands (``on``/``off``)."""

    true: str
    false: str


SetVia = Write | Via | ViaBool
WRITE: Final = Write()


@dataclass(frozen=True)
class Prop:
    attribute: int
    name: str
    convert: Converter = INT  # most unconverted Matter attributes are unsigned integers
    set: SetVia | None = None


@dataclass(frozen=True)
class Arg:
    """One field of a Matter command, filled from a DHI parameter (or a constant)."""

    field: str
    param: str | None = None
    convert: Converter = INT  # DHI -> Matter through ``convert.back``
    default: Any = MISSING
    #: encode with the endpoint's converter of this property instead (a mode name -> the
    #: mode number that endpoint's SupportedModes gives it)
    adapted: str | None = None

    def value(self, params: Mapping[str, Any], converters: Mapping[str, Converter] | None = None) -> Any:
        if self.param is not None and self.param in params:
            conv = (converters or {}).get(self.adapted or "", self.convert)
            return conv.back(params[self.param])
        if self.default is MISSING:
            raise KeyError(self.param or self.field)
        return self.default


@dataclass(frozen=True)
class Cmd:
    name: str  # DHI command
    matter: str  # Matter command name, as the server's cluster objects spell it
    command_id: int
    args: tuple[Arg, ...] = ()
    timed_ms: int | None = None  # commands the spec marks "timed invoke" (door locks)
    #: when several rows share a DHI name, the first whose ``when(params)`` holds is sent
    when: Callable[[Mapping[str, Any]], bool] | None = None
    features: int = 0  # FeatureMap bits the command needs (when the dump lists no accepted commands)

    def payload(
        self, params: Mapping[str, Any], converters: Mapping[str, Converter] | None = None
    ) -> dict[str, Any]:
        out = {}
        for arg in self.args:
            value = arg.value(params, converters)
            if value is not OMIT:
                out[arg.field] = value
        return out


EventTranslate = Callable[[Mapping[str, Any]], "tuple[str, dict[str, Any]] | None"]


@dataclass(frozen=True)
class Evt:
    event_id: int
    names: tuple[str, ...]  # the DHI events this Matter event can become
    translate: EventTranslate


def simple_event(
    event_id: int, name: str, payload: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
) -> Evt:
    return Evt(event_id, (name,), lambda data: (name, payload(data) if payload else {}))


@dataclass(frozen=True)
class Row:
    """``capability=None`` marks a cluster the row *consumes* without a capability (e.g. a
    mains-only Power Source): it is neither a feature nor unmapped."""

    capability: str | None
    cluster: int
    props: tuple[Prop, ...] = ()
    commands: tuple[Cmd, ...] = ()
    events: tuple[Evt, ...] = ()
    #: attributes that must be present; default: the first property's attribute
    required: tuple[int, ...] | None = None
    device_types: frozenset[int] = frozenset()
    not_device_types: frozenset[int] = frozenset()
    absent_clusters: frozenset[int] = frozenset()
    features: int = 0  # every bit must be set in the cluster's FeatureMap
    any_features: int = 0  # at least one of these bits must be set
    not_features: int = 0  # no bit may be set
    #: endpoint-dependent converters (e.g. a concentration cluster's MeasurementUnit):
    #: property name -> converter, or a string saying why the row cannot map this endpoint
    adapt: Callable[[Endpoint, int], Mapping[str, Converter] | str] | None = None
    #: the definition of a vendor capability (``x.*``), which the catalog does not hold
    definition: CapabilityDef | None = None
    #: attributes the row reads without a property of their own (a mode list that names
    #: the current mode, a measurement unit): not left over for the vendor fallback
    consumes: tuple[int, ...] = ()
    note: str = ""

    @property
    def required_attributes(self) -> tuple[int, ...]:
        if self.required is not None:
            return self.required
        return (self.props[0].attribute,) if self.props else ()

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def command(self, name: str, params: Mapping[str, Any]) -> Cmd | None:
        return next((c for c in self.commands if c.name == name and (c.when is None or c.when(params))), None)

    def command_names(self) -> list[str]:
        return list(dict.fromkeys(c.name for c in self.commands))
