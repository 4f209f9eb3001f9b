"""Home Assistant's registries and states as DHI devices (pure functions, no I/O).

An HA device becomes one DHI device with one component per entity; an entity without a
device is a device of its own (component ``main``). Which capability an entity is comes from
the catalog read in reverse (``dhi.home_assistant.rows_for_entity``); what the catalog does
not cover is kept as a typed vendor capability ``x.home_assistant.<domain>`` holding the
state, so nothing HA reaches is dropped. Entities dhome itself published into HA are left out
(loop safety, ``from_dhome``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from adapters.home_assistant.mapping import (
    DEFAULT_TEMPERATURE_UNIT,
    ENTITY,
    NO_VALUE,
    STATE,
    VALUES,
    WRITES,
    CommandRow,
    UnitRow,
    command_rows,
    dhi_event,
    features_of,
    in_unit,
    number,
    on_off,
    text,
    unit_row,
)
from adapters.sdk.claims import slug
from adapters.sdk.convert import ConversionError, Converter, enum_map, identity
from adapters.sdk.mqtt.describe import DescriptionBuilder, Features, vendor_property
from dhi.catalog import Catalog
from dhi.home_assistant import COMPOSITE, EntityRow, rows_for_entity, ucum_for_ha_unit
from dhi.models import DeviceDescription, PropertyDef
from dhi.models.catalog import ValueType
from dhi.models.common import DEVICE_ID

#: the marker the dhome → HA bridge puts on everything it publishes (docs/decisions.md)
DHOME_PREFIX = "dhome:"
VENDOR = "x.home_assistant"


def from_dhome(entity: Mapping[str, Any] | None, device: Mapping[str, Any] | None) -> bool:
    """Was this entity published into HA by dhome's own bridge? Never import it back."""
    if entity is not None and entity.get("platform") == "mqtt":
        uid = entity.get("unique_id")
        if isinstance(uid, str) and uid.startswith(DHOME_PREFIX):
            return True
    if device is not None:
        for ident in device.get("identifiers") or []:
            if (
                isinstance(ident, list | tuple)
                and len(ident) == 2
                and ident[0] == "mqtt"
                and str(ident[1]).startswith(DHOME_PREFIX)
            ):
                return True
    return False


@dataclass(frozen=True)
class Value:
    """One DHI property read from the entity's state or one of its attributes."""

    property: str
    source: str
    convert: Converter


@dataclass
class Bound:
    """One capability of one component and the entity it is read from / written to."""

    capability: str
    values: list[Value] = field(default_factory=list)
    commands: list[CommandRow] = field(default_factory=list)
    #: simple platforms: the property whose write is a service call (switch, number, select)
    writable: str | None = None
    #: event entities: the DHI events the capability has (an HA event type maps onto one)
    events: frozenset[str] = frozenset()
    #: properties HA gives in another unit than the catalog's (a °F thermostat): a command's
    #: parameter of that name is sent to HA in the entity's unit
    units: dict[str, UnitRow] = field(default_factory=dict)


@dataclass
class EntityPart:
    entity_id: str
    domain: str
    component: str
    caps: dict[str, Bound] = field(default_factory=dict)


@dataclass
class HaDevice:
    description: DeviceDescription
    entities: dict[str, EntityPart]  # entity_id -> where it landed
    features: Features


@dataclass(frozen=True)
class Filters:
    skip_domains: frozenset[str]
    exclude: tuple[str, ...] = ()

    def skips(self, entity_id: str) -> bool:
        return entity_id.split(".", 1)[0] in self.skip_domains or any(
            fnmatchcase(entity_id, p) for p in self.exclude
        )


# ---------------------------------------------------------------- the reverse lookup


def _ha_unit_matches(row: EntityRow, unit: str | None, catalog: Catalog) -> int:
    """2: the same unit; 1: a unit we convert; 0: no unit either side; -1: incompatible."""
    if row.unit == unit:
        return 2 if unit is not None else 0
    target = row.prop.unit if row.prop is not None else None
    if unit is not None and (ucum_for_ha_unit(catalog, unit) == target or unit_row(unit, target)):
        return 1
    return -1 if unit is not None or row.unit is not None else 0


#: HA device classes that say too little about what an entity measures: such an entity is only
#: taken for a catalog row when its unit names exactly one (``bpm`` -> heart rate)
VAGUE: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("sensor", None),
        ("binary_sensor", None),
        ("sensor", "enum"),
        ("sensor", "timestamp"),
        ("sensor", "duration"),
    }
)

#: HA's device classes are coarser than the catalog: where several capabilities share one, the
#: capability an HA entity of that class most likely is (the others stay reachable from dhome → HA)
PREFERRED: dict[tuple[str, str | None, str | None], str] = {
    # (domain, device class, entity category) -> capability
    ("binary_sensor", "problem", None): "dhi.fault",
    ("binary_sensor", "problem", "diagnostic"): "dhi.fault",
    ("binary_sensor", "moisture", None): "dhi.water_leak",
    ("binary_sensor", "occupancy", None): "dhi.occupancy",
    ("binary_sensor", "motion", None): "dhi.motion",
    ("binary_sensor", "running", None): "dhi.pump",
    ("binary_sensor", "safety", None): "dhi.sos",
    ("binary_sensor", "door", None): "dhi.contact",
    ("binary_sensor", "window", None): "dhi.contact",
    ("sensor", "temperature", None): "dhi.temperature",
    ("sensor", "energy", None): "dhi.energy",
    ("sensor", "power", None): "dhi.power",
    ("sensor", "volume_flow_rate", None): "dhi.flow",
    ("select", None, None): "dhi.mode",
}

#: the DHI value types an entity of each simple platform can carry as its state
_DOMAIN_TYPES: dict[str, frozenset[ValueType]] = {
    "binary_sensor": frozenset({ValueType.BOOLEAN}),
    "switch": frozenset({ValueType.BOOLEAN}),
    "number": frozenset({ValueType.NUMBER, ValueType.INTEGER}),
    "select": frozenset({ValueType.STRING, ValueType.ENUM}),
    "text": frozenset({ValueType.STRING}),
    "sensor": frozenset({ValueType.NUMBER, ValueType.INTEGER, ValueType.STRING, ValueType.ENUM}),
}


def _fits_domain(row: EntityRow) -> bool:
    if row.row.command is not None:
        return True
    if row.prop is None:
        return False
    allowed = _DOMAIN_TYPES.get(row.row.domain)
    if allowed is None:
        return True
    # an enum shown as a binary sensor says which side of on_when it is on
    return row.prop.type in allowed or (row.row.domain == "binary_sensor" and bool(row.row.on_when))


def pick_row(
    catalog: Catalog,
    domain: str,
    device_class: str | None,
    *,
    unit: str | None = None,
    entity_category: str | None = None,
    state_class: str | None = None,
) -> EntityRow | None:
    """The catalog row a simple (one-value) entity is: same domain and device class and a
    value type the platform can carry; then the best fit of unit, entity category and state
    class; ``PREFERRED`` first, then a capability's primary property. None: no row fits, or
    several capabilities fit equally (the entity is then kept as a vendor property)."""
    rows = tuple(
        r for r in rows_for_entity(catalog, domain, device_class) if not r.row.features and _fits_domain(r)
    )
    if (domain, device_class) in VAGUE:
        rows = tuple(r for r in rows if unit is not None and r.unit == unit)
        if len({r.capability.id for r in rows}) != 1:
            return None
    preferred = PREFERRED.get((domain, device_class, entity_category))
    scored: list[tuple[float, int, EntityRow]] = []
    for order, row in enumerate(rows):
        fit = _ha_unit_matches(row, unit, catalog)
        if fit < 0:
            continue
        score = (
            fit
            + 4 * (row.row.entity_category == entity_category)
            + (row.row.state_class == state_class)
            + 0.5 * (row.prop is not None and row.prop is row.capability.properties[0])
            + 10 * (row.capability.id == preferred)
        )
        scored.append((score, -order, row))
    if not scored:
        return None
    top = max(scored, key=lambda t: (t[0], t[1]))
    tied = {r.capability.id for score, _, r in scored if score == top[0]}
    # several capabilities fit equally well: guessing one would mislabel the entity
    return top[2] if len(tied) == 1 else None


def value_converter(row: EntityRow, unit: str | None, catalog: Catalog) -> Converter:
    """HA state text -> the DHI value of the row's property (numbers parsed and put in the
    catalog's unit, binary sensors through ``on_when``, text and enums as they are)."""
    prop = row.prop
    if prop is None:
        return identity
    if row.row.domain == "binary_sensor" or (row.row.domain in WRITES and prop.type is ValueType.BOOLEAN):
        on_when = row.row.on_when or [True]
        if prop.type is ValueType.BOOLEAN:
            return (
                on_off if on_when[0] is True else enum_map({"on": False, "off": True}, name="on_off_inverted")
            )
        off = next((m for m in prop.enum or [] if m not in on_when), None)
        return enum_map({"on": on_when[0], "off": off}, name="on_when")
    if prop.type in (ValueType.NUMBER, ValueType.INTEGER):
        conv = unit_row(unit, prop.unit) if unit != row.unit else None
        as_int = prop.type is ValueType.INTEGER

        def read(v: Any) -> Any:
            x = float(number(v))
            if conv is not None:
                x = conv.to_dhi(x)
            return round(x) if as_int else number(round(x, 6))

        def write(v: Any) -> Any:
            # a value set from dhome is in the catalog's unit; HA's entity takes its own
            x = float(number(v))
            return number(round(conv.from_dhi(x), 6)) if conv is not None else number(x)

        return Converter(read, write, f"number({unit}<->{prop.unit})")
    return Converter(lambda v: v if isinstance(v, str) else str(v), lambda v: v, "text")


# ---------------------------------------------------------------- describing


def _vendor_def(domain: str, state: Mapping[str, Any]) -> PropertyDef:
    unit = state.get("attributes", {}).get("unit_of_measurement")
    label = f"{domain} state" + (f" ({unit})" if isinstance(unit, str) and unit else "")
    return vendor_property("state", ValueType.STRING, nullable=True, label=label)


def _bind_entity(
    part: EntityPart,
    *,
    state: Mapping[str, Any],
    entry: Mapping[str, Any] | None,
    builder: DescriptionBuilder,
    features: Features,
    catalog: Catalog,
    temperature_unit: str = DEFAULT_TEMPERATURE_UNIT,
) -> None:
    domain = part.domain
    attrs = state.get("attributes") or {}
    dc = attrs.get("device_class") if isinstance(attrs.get("device_class"), str) else None
    unit = attrs.get("unit_of_measurement") if isinstance(attrs.get("unit_of_measurement"), str) else None
    label = attrs.get("friendly_name") if isinstance(attrs.get("friendly_name"), str) else None
    builder.component(part.component, label)
    if domain in COMPOSITE:
        present = features_of(domain, attrs)
        caps: dict[str, bool] = {}
        for er in (*rows_for_entity(catalog, domain, dc), *rows_for_entity(catalog, domain, None)):
            # the capability whose value is the entity's state always applies; the others
            # only with one of their features (a light without brightness has no dhi.level)
            carries_state = any(
                v.domain == domain and v.capability == er.capability.id and v.source in (STATE, ENTITY)
                for v in VALUES
            )
            if carries_state or not er.row.features or present & set(er.row.features):
                caps.setdefault(er.capability.id, True)
        for cap in caps:
            values = [
                v
                for v in VALUES
                if v.domain == domain and v.capability == cap and (v.feature is None or v.feature in present)
            ]
            commands = command_rows(domain, cap, present)
            if not values and not commands:
                continue
            bound = part.caps[cap] = Bound(cap, commands=commands)
            for vr in values:
                shown_in = (
                    _temperature_row(cap, vr.property, attrs, temperature_unit, catalog)
                    if vr.temperature
                    else None
                )
                if shown_in is not None:
                    bound.units[vr.property] = shown_in
                    bound.values.append(Value(vr.property, vr.source, in_unit(vr.convert, shown_in)))
                else:
                    bound.values.append(Value(vr.property, vr.source, vr.convert))
            plain = [c.command for c in commands if ":" not in c.command]
            comp = features.bind(
                f"{part.entity_id}:{cap}", part.component, cap, *[v.property for v in values]
            )
            for v in bound.values:
                builder.add(comp, cap, v.property, commands=plain)
            if not bound.values:
                builder.add(comp, cap, commands=plain)
        if part.caps:
            return
    elif domain == "event":
        if _bind_event(part, dc=dc, attrs=attrs, builder=builder, features=features, catalog=catalog):
            return
    else:
        row = pick_row(
            catalog,
            domain,
            dc,
            unit=unit,
            entity_category=(entry or {}).get("entity_category"),
            state_class=attrs.get("state_class") if isinstance(attrs.get("state_class"), str) else None,
        )
        if row is not None:
            cap = row.capability.id
            commands = command_rows(domain, cap, frozenset())
            bound = Bound(cap, commands=commands)
            if row.row.command is not None:  # a button: pressing it is the DHI command
                bound.commands = [CommandRow(domain, cap, row.row.command, "press")]
                comp = features.bind(part.entity_id, part.component, cap)
                builder.add(comp, cap, commands=[row.row.command])
            elif row.prop is not None:
                bound.values.append(Value(row.prop.name, STATE, value_converter(row, unit, catalog)))
                if domain in WRITES and row.prop.access and "write" in [a.value for a in row.prop.access]:
                    bound.writable = row.prop.name
                comp = features.bind(part.entity_id, part.component, cap, row.prop.name)
                builder.add(comp, cap, row.prop.name, commands=[c.command for c in commands])
            part.caps[cap] = bound
            return
    # nothing in the catalog fits: keep the state as a vendor property
    cap = f"{VENDOR}.{slug(domain)}"
    part.caps[cap] = Bound(cap, [Value("state", STATE, Converter(str, None, "text"))])
    comp = features.bind(part.entity_id, part.component, cap, "state")
    builder.add_vendor(comp, cap, _vendor_def(domain, state))


def _temperature_row(
    cap: str, prop: str, attrs: Mapping[str, Any], system_unit: str, catalog: Catalog
) -> UnitRow | None:
    """How a climate temperature HA shows comes into the catalog's unit: HA gives it in the
    entity's ``temperature_unit`` where the entity says, else in HA's configured unit system."""
    given = attrs.get("temperature_unit")
    unit = given if isinstance(given, str) and given else system_unit
    definition = catalog.get(cap)
    target = definition.property(prop) if definition is not None else None
    return unit_row(unit, target.unit if target is not None else None)


def _bind_event(
    part: EntityPart,
    *,
    dc: str | None,
    attrs: Mapping[str, Any],
    builder: DescriptionBuilder,
    features: Features,
    catalog: Catalog,
) -> bool:
    """An HA event entity as the events of the one capability its device class names (a
    button's presses, a doorbell's ring). Without a class — or with one several capabilities
    share — it could be any of them: kept as vendor state, never guessed."""
    caps = {er.capability.id for er in rows_for_entity(catalog, "event", dc)}
    if len(caps) != 1:
        return False
    cap = catalog[next(iter(caps))]
    names = frozenset(e.name for e in cap.events)
    # the events this entity can fire (its event_types that map), else every one of the capability
    types = attrs.get("event_types")
    fired = (
        {m[0] for t in types if isinstance(t, str) and (m := dhi_event(t, names))}
        if isinstance(types, list)
        else set()
    )
    bound = part.caps[cap.id] = Bound(cap.id, events=frozenset(fired) or names)
    props: list[str | None] = []
    if cap.property("last_action") is not None:  # the raw HA event type, as a button's last action
        bound.values.append(Value("last_action", "event_type", text))
        props.append("last_action")
    comp = features.bind(part.entity_id, part.component, cap.id, *[p for p in props if p])
    for prop in props or [None]:
        builder.add(comp, cap.id, prop, events=sorted(bound.events))
    return True


def _text(v: Any) -> str | None:
    return v[:200] if isinstance(v, str) and v else None


def describe(
    instance: str,
    entities: Iterable[Mapping[str, Any]],
    devices: Iterable[Mapping[str, Any]],
    states: Iterable[Mapping[str, Any]],
    *,
    catalog: Catalog,
    filters: Filters,
    areas: Mapping[str, str] | None = None,
    temperature_unit: str = DEFAULT_TEMPERATURE_UNIT,
) -> tuple[list[HaDevice], list[str]]:
    """HA registries + states -> DHI devices; the second list says what was left out and why
    (dhome's own entities, filtered domains, unusable ids). ``temperature_unit``: HA's
    configured unit system's (``get_config`` → ``unit_system.temperature``)."""
    areas = areas or {}
    by_entity = {
        e["entity_id"]: e for e in entities if isinstance(e, Mapping) and isinstance(e.get("entity_id"), str)
    }
    by_device = {d["id"]: d for d in devices if isinstance(d, Mapping) and isinstance(d.get("id"), str)}
    groups: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any] | None]]] = {}
    skipped: list[str] = []
    for state in states:
        entity_id = state.get("entity_id") if isinstance(state, Mapping) else None
        if not isinstance(entity_id, str) or "." not in entity_id:
            skipped.append(f"a state without a valid entity_id: {str(state)[:80]}")
            continue
        entry = by_entity.get(entity_id)
        device = by_device.get(entry.get("device_id") or "") if entry is not None else None
        if from_dhome(entry, device):
            skipped.append(f"{entity_id}: published by dhome (loop safety)")
            continue
        if filters.skips(entity_id):
            continue
        if device is not None and device.get("entry_type") == "service":
            continue  # an integration's own service entities, not a device of the home
        key = f"device:{device['id']}" if device is not None else f"entity:{entity_id}"
        groups.setdefault(key, []).append((state, entry))
    out: list[HaDevice] = []
    for key, members in groups.items():
        kind, native = key.split(":", 1)
        dev_id = f"{instance}:{native}"
        if not re.match(DEVICE_ID, dev_id) or len(dev_id) > 200:
            skipped.append(f"{native}: not usable as a DHI device id")
            continue
        device = by_device.get(native) if kind == "device" else None
        builder, features = DescriptionBuilder(), Features()
        parts: dict[str, EntityPart] = {}
        for state, entry in sorted(members, key=lambda m: str(m[0]["entity_id"])):
            entity_id = str(state["entity_id"])
            domain, object_id = entity_id.split(".", 1)
            component = "main" if kind == "entity" else slug(object_id)
            while any(p.component == component for p in parts.values()):
                component = slug(f"{component}_{domain}")
            part = parts[entity_id] = EntityPart(entity_id, domain, component)
            _bind_entity(
                part, state=state, entry=entry, builder=builder, features=features, catalog=catalog,
                temperature_unit=temperature_unit,
            )  # fmt: skip
        components = builder.build()
        if not components:
            continue
        first_state, first_entry = members[0]
        name = (
            (_text(device.get("name_by_user")) or _text(device.get("name")))
            if device is not None
            else _text((first_state.get("attributes") or {}).get("friendly_name"))
        ) or native
        area = (device or {}).get("area_id") or (first_entry or {}).get("area_id")
        description = DeviceDescription(
            id=dev_id,
            name=name,
            adapter=instance,
            manufacturer=_text((device or {}).get("manufacturer")) or "Home Assistant",
            model=_text((device or {}).get("model"))
            or (f"{members[0][0]['entity_id'].split('.')[0]} entity" if device is None else None),
            firmware=_text((device or {}).get("sw_version")),
            hardware=_text((device or {}).get("hw_version")),
            serial=_text((device or {}).get("serial_number")),
            room=areas.get(area) if isinstance(area, str) else None,
            components=components,
        )
        out.append(HaDevice(description, parts, features))
    return out, skipped


# ---------------------------------------------------------------- states


@dataclass
class Reading:
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    available: bool = True


def read_state(part: EntityPart, state: Mapping[str, Any]) -> Reading:
    """DHI state reports of one entity's HA state; bad values become errors (never raises)."""
    out = Reading()
    raw = state.get("state")
    given = state.get("attributes")
    attrs: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if raw == "unavailable":
        out.available = False
    for cap, bound in part.caps.items():
        props: dict[str, Any] = {}
        for v in bound.values:
            value = raw if v.source == STATE else attrs.get(v.source)
            if v.source == ENTITY:
                value = None if raw in NO_VALUE else {**attrs, "state": raw}
            if value is None or (v.source == STATE and value in NO_VALUE):
                props[v.property] = None
                continue
            try:
                props[v.property] = v.convert(value)
            except ConversionError as exc:
                out.errors.append(f"{part.entity_id} {v.source if v.source != STATE else 'state'}: {exc}")
        if props:
            out.reports[(part.component, cap)] = props
    return out
