"""One generic matcher: Zigbee2MQTT exposes -> DHI device description + value bindings.

For each generic expose (top level, or a feature of a light/switch/fan/cover/lock/climate
expose) the matcher tries the declarative rows of ``rows.py`` in order, then the rows the
catalog itself declares (``mappings.zigbee2mqtt``) for names no explicit row owns. The
first row that fits (capability and property in the catalog, converter available, slot
still free, writability kept) wins. Anything unmatched becomes a typed vendor property
``x.zigbee2mqtt.<name>`` — so nothing is dropped; only exposes that cannot be parsed are
reported as unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from adapters.sdk.convert import ConversionError, Converter
from adapters.sdk.report import DeviceMapping, FeatureFate, Unmapped
from adapters.zigbee2mqtt import naming, units
from adapters.zigbee2mqtt.actions import KEYPAD, ActionVocabulary, classify_values
from adapters.zigbee2mqtt.converters import Factory, auto, passthrough
from adapters.zigbee2mqtt.exposes import (
    GENERIC_TYPES,
    SPECIFIC_TYPES,
    BridgeDevice,
    Expose,
    parse_exposes,
)
from adapters.zigbee2mqtt.rows import COMMAND_ROWS, STD_ROWS, TRANSITION_ROWS
from adapters.zigbee2mqtt.rowtypes import (
    TOP,
    Match,
    StdRow,
    ToAction,
    ToEvent,
    ToEventField,
    ToFeatures,
    ToProperty,
    ToTrigger,
    TransitionRow,
)
from adapters.zigbee2mqtt.vendor import VendorError, access_of, human, labels, vendor_property
from dhi.catalog import Catalog, ValueCheck, value_check
from dhi.models import CapabilityDef, CapabilityInstance, Component, DeviceDescription, PropertyDef
from dhi.models.catalog import ValueType
from dhi.models.device import PropertyConstraint

VENDOR = "zigbee2mqtt"
_ADAPTER_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Binding:
    """One DHI property bound to one value in the device's Zigbee2MQTT state object."""

    component: str
    endpoint: str | None
    capability: str
    member: str
    path: tuple[str, ...]
    convert: Converter
    #: ``None`` for a trigger (a write-only expose that only serves commands)
    prop: PropertyDef | None
    settable: bool
    standard: bool
    expose: Expose
    #: the device's own narrower range/members of a catalog property
    constraint: PropertyConstraint | None = None
    #: ``dhi.catalog.value_check`` of ``prop`` and ``constraint`` (made once, run per report)
    accepts: ValueCheck = field(init=False, repr=False, compare=False)

    #: the rows of ``TRANSITION_ROWS`` that watch this property (events on change)
    transitions: tuple[TransitionRow, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        accepts = value_check(self.prop, self.constraint) if self.prop is not None else _refuse
        object.__setattr__(self, "accepts", accepts)
        rows = tuple(
            r for r in TRANSITION_ROWS if (r.capability, r.property) == (self.capability, self.member)
        )
        object.__setattr__(self, "transitions", rows)


def _refuse(value: Any) -> bool:
    return False


@dataclass(frozen=True)
class ActionBinding:
    """The ``action`` value of a component: button / remote-control events."""

    component: str
    path: tuple[str, ...]
    vocabulary: ActionVocabulary
    button: str | None
    remote: str | None


@dataclass(frozen=True)
class EventBinding:
    """A binary that signals a moment (``doorbell``): its ``value_on`` raises ``event``."""

    component: str
    path: tuple[str, ...]
    capability: str
    event: str
    value_on: Any


@dataclass(frozen=True)
class FieldBinding:
    """A companion value (``action_group`` …) copied into the event it accompanies."""

    component: str
    path: tuple[str, ...]
    capability: str
    field: str


@dataclass
class DeviceMap:
    """Everything the adapter needs to translate one device, both directions."""

    device_id: str
    ieee_address: str
    friendly_name: str
    description: DeviceDescription | None
    bindings: list[Binding] = field(default_factory=list)
    actions: list[ActionBinding] = field(default_factory=list)
    fields: list[FieldBinding] = field(default_factory=list)
    events: list[EventBinding] = field(default_factory=list)
    endpoints: dict[str, str | None] = field(default_factory=dict)
    features: int = 0
    standard: int = 0
    vendor: int = 0
    unmapped: list[Unmapped] = field(default_factory=list)
    #: expose path -> why its standard property was taken (it became a vendor property)
    taken: dict[str, str] = field(default_factory=dict)

    def binding(self, component: str, capability: str, member: str) -> Binding | None:
        for b in self.bindings:
            if (b.component, b.capability, b.member) == (component, capability, member):
                return b
        return None

    def component_bindings(self, component: str, capability: str) -> dict[str, Binding]:
        return {b.member: b for b in self.bindings if b.component == component and b.capability == capability}

    def report(self) -> DeviceMapping:
        return DeviceMapping(
            id=self.device_id,
            name=self.friendly_name,
            description=self.description,
            features=self.features,
            standard=self.standard,
            vendor=self.vendor,
            unmapped=self.unmapped,
            mapping=[
                FeatureFate(
                    feature=".".join(b.path),
                    component=b.component,
                    capability=b.capability,
                    property=b.member,
                    reason=None if b.standard else self.taken.get(".".join(b.path)),
                )
                for b in self.bindings
            ],
        )


# ---------------------------------------------------------------- the matcher


_NOTE_COMPONENT = re.compile(r"\bcomponent ([a-z][a-z0-9_]*)")
_SUFFIX = re.compile(r"^(?P<base>[a-z][a-z0-9_]*?)_(?P<sub>(?:phase_)?[abc]|l[0-9]{1,2}|[0-9]{1,2})$")


def _split_suffix(name: str) -> tuple[str, str] | None:
    """``power_b`` -> (``power``, ``phase_b``); ``countdown_2`` -> (``countdown``, ``ep_2``);
    ``energy_l1`` -> (``energy``, ``l1``): one device measuring several phases or channels
    in one expose list puts each in its own component."""
    m = _SUFFIX.match(name)
    if m is None:
        return None
    sub = m.group("sub")
    if sub in ("a", "b", "c"):
        sub = "phase_" + sub
    return m.group("base"), naming.component_id(sub)


def _owned_names(rows: Iterable[StdRow]) -> frozenset[str]:
    return frozenset(n for r in rows for n in r.match.names)


_OWNED = _owned_names(STD_ROWS)


_ROW_INDEX: dict[int, tuple[Catalog, dict[str, list[StdRow]]]] = {}


def row_index(catalog: Catalog) -> dict[str, list[StdRow]]:
    """Explicit rows, then the catalog's own rows, by expose name (built once per catalog)."""
    cached = _ROW_INDEX.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index: dict[str, list[StdRow]] = {}
    for row in STD_ROWS + catalog_rows(catalog):
        for name in row.match.names:
            index.setdefault(name, []).append(row)
    _ROW_INDEX[id(catalog)] = (catalog, index)
    return index


_PROPS: dict[int, tuple[Catalog, dict[str, dict[str, PropertyDef]]]] = {}


def _catalog_props(catalog: Catalog) -> dict[str, dict[str, PropertyDef]]:
    """capability -> property name -> definition (lookups on the models are linear scans)."""
    cached = _PROPS.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    table = {cap.id: {p.name: p for p in cap.properties} for cap in catalog.values()}
    _PROPS[id(catalog)] = (catalog, table)
    return table


def catalog_rows(catalog: Catalog) -> list[StdRow]:
    """Rows the catalog declares itself (``mappings.zigbee2mqtt``) for names no explicit
    row owns, converting by kind and unit only."""
    out: list[StdRow] = []
    for cap in catalog.values():
        for m in cap.mappings.zigbee2mqtt:
            if m.expose in _OWNED or m.property is None or cap.property(m.property) is None:
                continue
            types = (m.type,) if m.type and m.type not in SPECIFIC_TYPES else ()
            # the catalog names the component of per-phase exposes in its note ("component phase_b")
            found = _NOTE_COMPONENT.search(m.note or "")
            component = found.group(1) if found else None
            out.append(StdRow(Match((m.expose,), types), ToProperty(cap.id, m.property, auto(), component)))
    return out


@dataclass
class _Slot:
    capability: CapabilityDef
    members: list[str] = field(default_factory=list)
    constraints: dict[str, PropertyConstraint] = field(default_factory=dict)


class _Builder:
    """Builds one device's bindings; ``features``/``standard``/``vendor`` count exposes."""

    def __init__(self, catalog: Catalog, device_id: str) -> None:
        self.catalog = catalog
        self.units = frozenset(catalog.units)
        self.rows = row_index(catalog)
        self.out = DeviceMap(device_id=device_id, ieee_address="", friendly_name="", description=None)
        self.slots: dict[tuple[str, str], _Slot] = {}
        self.deferred: list[tuple[Expose, str, str | None, StdRow]] = []

    # -- walking

    def add(self, expose: Expose, parent: str = TOP, endpoint: str | None = None) -> None:
        endpoint = expose.endpoint or endpoint
        if expose.type in SPECIFIC_TYPES:
            features, problems = parse_exposes(expose.features or [])
            for p in problems:
                self._unmapped(p.feature, p.reason)
            if not features and not problems:
                self._unmapped(expose.type, f"{expose.type} expose without features")
            for f in features:
                self.add(f, expose.type, endpoint)
            return
        label = expose.key or expose.type
        if expose.type not in GENERIC_TYPES:
            self._unmapped(label, f"unknown expose type {expose.type!r}")
            return
        if not expose.key:
            self._unmapped(label, "expose has neither property nor name")
            return
        self.out.features += 1
        component = naming.component_id(endpoint)
        self.out.endpoints.setdefault(component, endpoint)
        if self._match(expose, parent, component, endpoint):
            return
        split = _split_suffix(expose.base_name) if not expose.endpoint else None
        if split is not None:
            base, sub = split
            sub_component = sub if component == "main" else f"{component}_{sub}"
            renamed = expose.model_copy(update={"name": base})
            if self._match(renamed, parent, sub_component, endpoint):
                self.out.endpoints.setdefault(sub_component, endpoint)
                return
        self._vendor_or_unmapped(expose, component, endpoint, (expose.key,))

    def _match(self, expose: Expose, parent: str, component: str, endpoint: str | None) -> bool:
        for row in self.rows.get(expose.base_name, ()):
            if not row.match.accepts(expose, parent):
                continue
            if isinstance(row.target, ToEventField):
                self.deferred.append((expose, component, endpoint, row))
                return True
            if self._try(row, expose, component, endpoint):
                self.out.standard += 1
                return True
        return False

    def finish(self) -> None:
        for expose, component, endpoint, row in self.deferred:
            target = row.target
            assert isinstance(target, ToEventField)
            declared = any(
                a.component == component
                and (
                    target.capability in (a.button, a.remote)
                    or target.capability in a.vocabulary.device_capabilities()
                )
                for a in self.out.actions
            )
            if declared:
                self.out.fields.append(
                    FieldBinding(component, (expose.key,), target.capability, target.field)
                )
                self.out.standard += 1
            else:
                self._vendor_or_unmapped(expose, component, endpoint, (expose.key,))

    # -- rows

    def _try(self, row: StdRow, expose: Expose, component: str, endpoint: str | None) -> bool:
        target = row.target
        if isinstance(target, ToProperty):
            if target.component is not None:
                component = target.component
                self.out.endpoints.setdefault(component, endpoint)
            return self._bind_property(
                capability=target.capability,
                member=target.property,
                factory=target.convert,
                expose=expose,
                component=component,
                endpoint=endpoint,
                path=(expose.key,),
            )
        if isinstance(target, ToFeatures):
            return self._bind_features(target, expose, component, endpoint)
        if isinstance(target, ToAction):
            return self._bind_action(target, expose, component, endpoint)
        if isinstance(target, ToTrigger):
            return self._bind_trigger(target, expose, component, endpoint)
        if isinstance(target, ToEvent):
            return self._bind_event(target, expose, component)
        return False

    def _bind_event(self, target: ToEvent, expose: Expose, component: str) -> bool:
        cap = self.catalog.get(target.capability)
        if (
            cap is None
            or cap.event(target.event) is None
            or expose.type != "binary"
            or expose.value_on is None
        ):
            return False
        if any(e.component == component and e.capability == cap.id for e in self.out.events):
            return False
        self._slot(component, cap)
        self.out.events.append(EventBinding(component, (expose.key,), cap.id, target.event, expose.value_on))
        return True

    def _bind_trigger(self, target: ToTrigger, expose: Expose, component: str, endpoint: str | None) -> bool:
        cap = self.catalog.get(target.capability)
        if cap is None or not expose.settable or self.out.binding(component, cap.id, target.name) is not None:
            return False
        if not any(
            r.capability == cap.id and target.name in (*r.needs, *r.optional) and cap.command(r.command)
            for r in COMMAND_ROWS
        ):
            return False
        self._slot(component, cap)
        self.out.bindings.append(
            Binding(
                component,
                endpoint,
                cap.id,
                target.name,
                (expose.key,),
                passthrough(object),
                None,
                True,
                True,
                expose,
            )
        )
        return True

    def _slot(self, component: str, capability: CapabilityDef) -> _Slot:
        return self.slots.setdefault((component, capability.id), _Slot(capability))

    def _bind_property(
        self,
        *,
        capability: str,
        member: str,
        factory: Factory,
        expose: Expose,
        component: str,
        endpoint: str | None,
        path: tuple[str, ...],
    ) -> bool:
        cap = self.catalog.get(capability)
        prop = _catalog_props(self.catalog).get(capability, {}).get(member)
        if cap is None or prop is None:
            return False
        holder = self.out.binding(component, capability, member)
        if holder is not None:
            # the no-collision rule: the property is taken, this expose stays a vendor property
            self.out.taken.setdefault(
                ".".join(path), f"{component}/{capability}.{member} already holds {'.'.join(holder.path)}"
            )
            return False
        if expose.settable and not prop.writable and not self._command_covers(capability, member):
            return False  # the catalog could not carry the write: keep it as a vendor property
        if not access_of(expose.access):
            return False
        conv = factory(expose, prop, self.units)
        if conv is None:
            return False
        slot = self._slot(component, cap)
        slot.members.append(member)
        constraint = _constraint(expose, prop, conv)
        if constraint is not None:
            slot.constraints[member] = constraint
        self.out.bindings.append(
            Binding(
                component,
                endpoint,
                capability,
                member,
                path,
                conv,
                prop,
                expose.settable,
                True,
                expose,
                constraint,
            )
        )
        return True

    @staticmethod
    def _command_covers(capability: str, member: str) -> bool:
        return any(r.capability == capability and member in r.needs for r in COMMAND_ROWS)

    def _bind_features(
        self, target: ToFeatures, expose: Expose, component: str, endpoint: str | None
    ) -> bool:
        if expose.type != "composite" or self.catalog.get(target.capability) is None:
            return False
        features, problems = parse_exposes(expose.features or [])
        matched = [f for f in features if f.base_name in target.features]
        if not matched:
            return False
        all_standard = not problems
        for p in problems:
            self._unmapped(f"{expose.key}.{p.feature}", p.reason)
        for f in features:
            path = (expose.key, f.key)
            entry = target.features.get(f.base_name)
            if entry is not None:
                member, factory = entry
                # a feature inherits the composite's settability when it has no access of its own
                f_eff = f if f.access else f.model_copy(update={"access": expose.access})
                if self._bind_property(
                    capability=target.capability,
                    member=member,
                    factory=factory,
                    expose=f_eff,
                    component=component,
                    endpoint=endpoint,
                    path=path,
                ):
                    continue
            all_standard = False
            self._vendor(f, component, endpoint, path, prefix=expose.base_name)
        if not all_standard:
            # the composite counts once: as vendor when part of it had to stay vendor-specific
            self.out.standard -= 1
            self.out.vendor += 1
        return True

    def _bind_action(self, target: ToAction, expose: Expose, component: str, endpoint: str | None) -> bool:
        if expose.type not in ("enum", "text"):
            return False
        button = self.catalog.get(target.button)
        if button is None or button.property("last_action") is None:
            return False
        if not self._bind_property(
            capability=target.button,
            member="last_action",
            factory=auto(),
            expose=expose,
            component=component,
            endpoint=endpoint,
            path=(expose.key,),
        ):
            return False
        vocab = classify_values(expose.values or [])
        remote = target.remote if vocab.commands and target.remote in self.catalog else None
        if remote is not None:
            self._slot(component, self.catalog[remote])
        if vocab.gestures:
            self._slot(component, button)
        # a keypad's own events need its capability; a lock's come with its lock expose
        if KEYPAD in vocab.device_capabilities() and KEYPAD in self.catalog:
            self._slot(component, self.catalog[KEYPAD])
        self.out.actions.append(ActionBinding(component, (expose.key,), vocab, target.button, remote))
        return True

    # -- vendor

    def _vendor_or_unmapped(
        self, expose: Expose, component: str, endpoint: str | None, path: tuple[str, ...]
    ) -> None:
        # counted once as a feature already; when it cannot even be a vendor property it is
        # listed in ``unmapped`` by ``_vendor``
        if self._vendor(expose, component, endpoint, path):
            self.out.vendor += 1

    def _vendor(
        self, expose: Expose, component: str, endpoint: str | None, path: tuple[str, ...], prefix: str = ""
    ) -> bool:
        base = f"{prefix}_{expose.base_name}" if prefix else expose.base_name
        cap_id = naming.vendor_capability(VENDOR, base)
        n = 2
        while (component, cap_id) in self.slots:
            cap_id = naming.vendor_capability(VENDOR, f"{base}_{n}")
            n += 1
        member = naming.member_name(base)
        try:
            vendor = vendor_property(expose, member, self.units)
        except VendorError as exc:
            self._unmapped(".".join(path), str(exc))
            return False
        label = expose.label or human(expose.base_name)
        definition = CapabilityDef(
            id=cap_id,
            category="vendor",
            label=labels(label),
            description=labels(expose.description or f"Zigbee2MQTT expose {expose.base_name!r}"),
            properties=[vendor.prop],
        )
        slot = self._slot(component, definition)
        slot.members.append(member)
        self.out.bindings.append(
            Binding(
                component,
                endpoint,
                cap_id,
                member,
                path,
                vendor.convert,
                vendor.prop,
                vendor.prop.writable,
                False,
                expose,
            )
        )
        return True

    def _unmapped(self, feature: str, reason: str) -> None:
        self.out.unmapped.append(Unmapped(feature=feature or "expose", reason=reason))

    # -- description

    def components(self) -> list[Component]:
        by_component: dict[str, list[CapabilityInstance]] = {}
        for (component, _), slot in self.slots.items():
            by_component.setdefault(component, []).append(self._instance(component, slot))
        ordered = sorted(by_component, key=lambda c: (c != "main", c))
        return [
            Component(id=c, label=self.out.endpoints.get(c), capabilities=by_component[c]) for c in ordered
        ]

    def _instance(self, component: str, slot: _Slot) -> CapabilityInstance:
        cap = slot.capability
        if cap.id.startswith("x."):
            return CapabilityInstance(id=cap.id, definition=cap)
        bound = {
            b.member: b for b in self.out.bindings if b.component == component and b.capability == cap.id
        }
        commands = [
            r.command
            for r in COMMAND_ROWS
            if r.capability == cap.id
            and cap.command(r.command) is not None
            and all(n in bound and bound[n].settable for n in r.needs)
            and (not r.needs_toggle or any(bound[n].expose.value_toggle is not None for n in r.needs))
        ]
        actions = [a for a in self.out.actions if a.component == component]
        own = [e for e in self.out.events if e.component == component]
        events = _events_for(cap.id, actions, own, cap) + _transition_events(cap, slot.members)
        return CapabilityInstance(
            id=cap.id,
            properties=sorted(slot.members) or ([] if cap.properties else None),
            commands=commands if cap.commands else None,
            events=events if cap.events else None,
            constraints=slot.constraints or None,
        )


def _events_for(
    capability: str, actions: list[ActionBinding], events: list[EventBinding], cap: CapabilityDef
) -> list[str]:
    names: set[str] = {e.event for e in events if e.capability == capability}
    for a in actions:
        if capability == a.button:
            names |= {g.event for g in a.vocabulary.gestures.values()}
        if capability == a.remote and a.vocabulary.commands:
            names.add("command_sent")
        names |= {d.event for d in a.vocabulary.device_events.values() if d.capability == capability}
    return sorted(n for n in names if cap.event(n) is not None)


def _transition_events(cap: CapabilityDef, members: list[str]) -> list[str]:
    names: set[str] = set()
    for row in TRANSITION_ROWS:
        if row.capability == cap.id and row.property in members:
            for ev in (row.on_true, row.on_false, *row.values.values()):
                if ev is not None and cap.event(ev[0]) is not None:
                    names.add(ev[0])
    return sorted(names)


def _constraint(expose: Expose, prop: PropertyDef, conv: Converter) -> PropertyConstraint | None:
    """The device's own range (converted), when narrower than the catalog's."""
    if prop.type in (ValueType.NUMBER, ValueType.INTEGER) and expose.type == "numeric":
        lo, hi = units.range_through(conv, expose.value_min, expose.value_max)
        if lo is not None and prop.minimum is not None:
            lo = max(lo, prop.minimum)
        if hi is not None and prop.maximum is not None:
            hi = min(hi, prop.maximum)
        if lo is not None and prop.maximum is not None and lo > prop.maximum:
            lo = None
        if hi is not None and prop.minimum is not None and hi < prop.minimum:
            hi = None
        if lo is not None and hi is not None and lo > hi:
            return None
        narrower = (lo is not None and lo != prop.minimum) or (hi is not None and hi != prop.maximum)
        return PropertyConstraint(minimum=lo, maximum=hi) if narrower else None
    if prop.type is ValueType.ENUM and prop.enum:
        members: list[str] = []
        try:
            if expose.type == "enum":
                members = [conv(v) for v in expose.values or []]
            elif expose.type == "binary":
                members = [conv(v) for v in (expose.value_on, expose.value_off)]
        except ConversionError:
            return None
        uniq = sorted(set(members), key=prop.enum.index) if set(members) <= set(prop.enum) else []
        if uniq and len(uniq) < len(prop.enum):
            return PropertyConstraint(enum=uniq)
    return None


# ---------------------------------------------------------------- devices


def device_id(adapter: str, ieee_address: str) -> str:
    """``<adapter instance>:<ieee address>``: stable across renames, never reused."""
    return f"{adapter}:{ieee_address.strip().lower()}"


def map_device(device: BridgeDevice, catalog: Catalog, adapter: str = VENDOR) -> DeviceMap:
    """Map one ``bridge/devices`` entry. Never raises for bad vendor data."""
    dev_id = device_id(adapter, device.ieee_address)
    builder = _Builder(catalog, dev_id)
    out = builder.out
    out.ieee_address = device.ieee_address
    out.friendly_name = device.friendly_name
    definition = device.definition
    if definition is None:
        return out
    exposes, problems = parse_exposes(definition.exposes)
    for p in problems:
        builder._unmapped(p.feature, p.reason)
    for e in exposes:
        builder.add(e)
    builder.finish()
    components = builder.components()
    if not components:
        return out
    try:
        out.description = DeviceDescription(
            id=dev_id,
            name=naming.clean_text(device.friendly_name) or device.ieee_address,
            adapter=adapter if _ADAPTER_NAME.match(adapter) else None,
            manufacturer=naming.clean_text(definition.vendor or device.manufacturer),
            model=naming.clean_text(definition.model or device.model_id),
            serial=device.ieee_address,
            firmware=naming.clean_text(device.software_build_id),
            hardware=naming.clean_text(device.model_id),
            components=components,
        )
    except ValidationError as exc:  # a bug in the matcher, never in the data: say so loudly
        out.unmapped.append(
            Unmapped(feature="device", reason=f"description invalid: {exc.errors()[0]['msg']}")
        )
    return out
