"""The generic matcher: a Matter node -> DHI devices, components and bindings.

Devices and ids
    A node is the DHI device ``<prefix>:<node_id>``; each endpoint with at least one
    mapped capability becomes its component ``ep<N>`` (endpoint 0 included: it carries
    the root's Basic Information as ``dhi.device_info``, and fills the description's
    manufacturer/model/serial/firmware). A bridge (Aggregator 0x000E) exposes each
    bridged device as an endpoint with the Bridged Node device type (0x0013) and
    Bridged Device Basic Information (0x0039); that endpoint and its parts become a
    separate DHI device ``<prefix>:<node_id>-<endpoint>`` with ``via`` = the bridge's id,
    so one bridged lamp is one DHI device however many lamps the bridge carries.

Accounting (``dhome adapters check``)
    A *feature* is one application cluster on one endpoint: each row it matches counts
    as one standard (catalog) or vendor (``x.*``) feature; a cluster no row matches is
    one *unmapped* feature with the reason (an unlisted cluster, a vendor cluster, or the
    predicate that failed). Infrastructure clusters (see :mod:`adapters.matter.clusters`)
    and rows that only consume a cluster count neither way. A cluster only named in the
    Descriptor's ServerList without any attribute data is not a feature: the server
    never read it, so there is nothing to map. An endpoint with an application device
    type that ends up with no capability at all is reported as such.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.matter import clusters as cl
from adapters.matter.node import Endpoint, Node, attribute_path
from adapters.matter.rows import (
    BRIDGED_NODE,
    ROWS_BY_CLUSTER,
    UTILITY_DEVICE_TYPES,
    device_type_name,
)
from adapters.matter.schema import Cmd, Evt, Prop, Row
from adapters.matter.vendor import datamodel, vendor_row
from adapters.sdk.claims import PropertyClaims
from adapters.sdk.convert import ConversionError, Converter
from adapters.sdk.report import DeviceMapping, Unmapped
from dhi.catalog import Catalog, check_value
from dhi.errors import HubError
from dhi.models import Component, DeviceDescription
from dhi.models.catalog import PropertyDef
from dhi.models.device import CapabilityInstance

NAME_MAX = 200


@dataclass(frozen=True)
class CapBinding:
    """One DHI capability instance on one component, backed by one Matter cluster."""

    device_id: str
    component: str
    endpoint: int
    row: Row
    props: tuple[Prop, ...]
    converters: Mapping[str, Converter]
    commands: tuple[str, ...]
    events: tuple[str, ...]

    @property
    def capability(self) -> str:
        assert self.row.capability is not None
        return self.row.capability

    @property
    def cluster(self) -> int:
        return self.row.cluster

    def converter(self, prop: Prop) -> Converter:
        return self.converters.get(prop.name, prop.convert)

    def instance(self) -> CapabilityInstance:
        return CapabilityInstance(
            id=self.capability,
            properties=list(dict.fromkeys(p.name for p in self.props)),
            commands=list(self.commands),
            events=list(self.events),
            definition=self.row.definition,
        )

    def read_state(self, ep: Endpoint, lookup: PropLookup) -> tuple[dict[str, Any], list[str]]:
        """Current DHI values from the endpoint's attributes, plus one error per bad value.

        Every value is checked against its catalog property (type, enum, range) here, so a
        device reporting something out of range loses that one value, never the report."""
        out: dict[str, Any] = {}
        errors = []
        values = ep.clusters.get(self.cluster, {})
        for prop in self.props:
            if prop.attribute not in values:
                continue
            raw = values[prop.attribute]
            path = attribute_path(ep.id, self.cluster, prop.attribute)
            definition = self.row.definition
            pdef = (
                definition.property(prop.name)
                if definition is not None
                else lookup(self.capability, prop.name)
            )
            try:
                value = self.converter(prop).to_hub(raw)
                if value is not None and pdef is not None:
                    check_value(pdef, value, f"{self.capability}.{prop.name}")
            except (ConversionError, TypeError, ValueError, ArithmeticError) as exc:
                errors.append(f"{path} = {raw!r:.80}: {exc}")
                continue
            except HubError as exc:
                errors.append(f"{path} = {raw!r:.80}: {exc.message}")
                continue
            if value is None and pdef is not None and not pdef.nullable:
                continue  # "unknown" of a property that cannot be null: leave it unreported
            out[prop.name] = value
        return out, errors


@dataclass
class NodeMapping:
    node_id: int
    devices: dict[str, DeviceDescription] = field(default_factory=dict)
    reports: list[DeviceMapping] = field(default_factory=list)
    caps: dict[tuple[str, str, str], CapBinding] = field(default_factory=dict)
    by_attribute: dict[tuple[int, int, int], list[CapBinding]] = field(default_factory=dict)
    by_event: dict[tuple[int, int, int], list[tuple[CapBinding, Evt]]] = field(default_factory=dict)
    #: device id -> the endpoints it is made of
    endpoints: dict[str, list[int]] = field(default_factory=dict)
    #: bridged device id -> its Reachable attribute (a bridged device can be offline alone)
    reachable: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def bindings_of(self, device_id: str) -> list[CapBinding]:
        return [b for b in self.caps.values() if b.device_id == device_id]


PropLookup = Callable[[str, str], PropertyDef | None]


def catalog_lookup(catalog: Catalog | None) -> PropLookup:
    """capability, property -> its definition (catalog, or a row's vendor definition)."""
    vendor = {
        row.capability: row.definition for rows in ROWS_BY_CLUSTER.values() for row in rows if row.definition
    }

    def lookup(capability: str, prop: str) -> PropertyDef | None:
        definition = vendor.get(capability) or (catalog.get(capability) if catalog is not None else None)
        return definition.property(prop) if definition is not None else None

    return lookup


# ---------------------------------------------------------------- matching


def _check(row: Row, ep: Endpoint) -> str | None:
    """Why ``row`` does not apply to ``ep`` (``None`` when it does); cheap checks first."""
    if row.device_types and not (row.device_types & set(ep.device_types)):
        wanted = ", ".join(device_type_name(d) for d in sorted(row.device_types))
        have = ", ".join(device_type_name(d) for d in ep.device_types) or "none"
        return f"needs device type {wanted} (endpoint has {have})"
    if row.not_device_types & set(ep.device_types):
        return "not for this device type"
    for absent in row.absent_clusters:
        if absent in ep.clusters:
            return f"only used without {cl.describe_cluster(absent)}"
    fmap = ep.feature_map(row.cluster)
    if row.features and fmap & row.features != row.features:
        return f"needs FeatureMap bits 0x{row.features:x} (has 0x{fmap:x})"
    if row.any_features and not fmap & row.any_features:
        return f"needs one of FeatureMap bits 0x{row.any_features:x} (has 0x{fmap:x})"
    if row.not_features and fmap & row.not_features:
        return f"not for FeatureMap bits 0x{row.not_features:x}"
    for attr in row.required_attributes:
        if not ep.has(row.cluster, attr):
            return f"attribute {cl.attribute_name(row.cluster, attr)} is not reported"
    return None


def _command_available(cmd: Cmd, ep: Endpoint, cluster: int) -> bool:
    accepted = ep.accepts_command(cluster, cmd.command_id)
    if accepted is not None:
        return accepted
    return ep.feature_map(cluster) & cmd.features == cmd.features


def _bind(row: Row, ep: Endpoint, device_id: str) -> CapBinding | str:
    converters: Mapping[str, Converter] = {}
    if row.adapt is not None:
        adapted = row.adapt(ep, row.cluster)
        if isinstance(adapted, str):
            return adapted
        converters = adapted
    values = ep.clusters.get(row.cluster, {})
    props = tuple(p for p in row.props if p.attribute in values)
    commands = tuple(dict.fromkeys(c.name for c in row.commands if _command_available(c, ep, row.cluster)))
    events = tuple(dict.fromkeys(n for e in row.events for n in e.names))
    if not (props or commands or events):
        return "no supported attribute, command or event"
    return CapBinding(device_id, f"ep{ep.id}", ep.id, row, props, converters, commands, events)


def _unmapped_reason(cluster: int, reasons: list[str]) -> str:
    name = cl.describe_cluster(cluster)
    if reasons:
        return f"{name}: no mapping row applies ({'; '.join(dict.fromkeys(reasons))})"
    if cl.is_vendor_specific(cluster):
        return f"{name} is manufacturer-specific; no mapping for it"
    if cluster in cl.CLUSTER_NAMES:
        return f"{name} has no DHI mapping"
    return f"{name} is not a cluster this adapter knows"


def _closure(node: Node, root: int, stop: set[int]) -> list[int]:
    seen, todo = {root}, [root]
    while todo:
        ep = node.endpoints.get(todo.pop())
        if ep is None:
            continue
        for part in ep.parts:
            if part not in seen and part not in stop and part in node.endpoints:
                seen.add(part)
                todo.append(part)
    return sorted(seen)


def owners(node: Node, prefix: str) -> dict[int, str]:
    """Endpoint -> DHI device id (bridged endpoints belong to their own device)."""
    roots = {
        ep.id
        for ep in node
        if ep.id != 0 and (BRIDGED_NODE in ep.device_types or ep.has(cl.BRIDGED_DEVICE_BASIC_INFORMATION))
    }
    out: dict[int, str] = {}
    for root in sorted(roots):
        for member in _closure(node, root, roots - {root}):
            out.setdefault(member, f"{prefix}:{node.node_id}-{root}")
    for endpoint in node:
        out.setdefault(endpoint.id, f"{prefix}:{node.node_id}")
    return out


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def _describe(
    device_id: str,
    info: Endpoint | None,
    info_cluster: int,
    fallback_name: str,
    *,
    via: str | None,
    comps: list[Component],
) -> DeviceDescription:
    def get(attr: int) -> str | None:
        return _text(info.value(info_cluster, attr)) if info is not None else None

    name = get(0x0005) or get(0x0003) or get(0x000E) or fallback_name
    return DeviceDescription(
        id=device_id,
        name=name[:NAME_MAX],
        adapter=device_id.split(":", 1)[0],
        manufacturer=get(0x0001),
        model=get(0x0003) or get(0x000E),
        serial=get(0x000F),
        firmware=get(0x000A),
        hardware=get(0x0008),
        via=via,
        components=comps,
    )


def _data_attributes(ep: Endpoint, cluster: int) -> list[int]:
    return [a for a in ep.clusters.get(cluster, {}) if a not in cl.GLOBAL_ATTRIBUTES]


def _int_list(value: Any) -> list[int]:
    return (
        [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        if isinstance(value, list)
        else []
    )


def _known_events(ep: Endpoint, cluster: int) -> list[int]:
    """The events the cluster may send: its EventList when the dump has one (older
    revisions), else every event the data model gives the cluster (Matter 1.3 dropped the
    list; an event that never comes costs nothing, a dropped one loses information).

    Basic Information's events (start-up, shut-down, leave, reachable changed) are the node's
    lifecycle, which the adapter already carries as availability and the description's
    firmware: no vendor events for the metadata clusters."""
    if cl.kind(cluster) is cl.Kind.METADATA:
        return []
    listed = ep.value(cluster, cl.EVENT_LIST)
    if isinstance(listed, list):
        return _int_list(listed)
    model = datamodel().get(cluster)
    return sorted(model.events) if model is not None else []


@dataclass
class _Outcome:
    bindings: list[CapBinding] = field(default_factory=list)
    unmapped: list[tuple[str, str]] = field(default_factory=list)  # (feature, reason)


def _match_cluster(ep: Endpoint, cluster: int, device_id: str, bound: Mapping[str, CapBinding]) -> _Outcome:
    """The rows of ``cluster`` that apply to ``ep``, then one vendor row for what they leave.

    A capability already bound by *another* cluster of the endpoint wins (the standard
    cluster sorts first, e.g. Electrical Power Measurement before Eve's vendor cluster): the
    later cluster's attributes then become vendor properties, never an overwrite."""
    out = _Outcome()
    used: set[int] = set()
    used_commands: set[int] = set()
    used_events: set[int] = set()
    consumed = False
    reasons: list[str] = []
    taken = dict(bound)
    for row in ROWS_BY_CLUSTER.get(cluster, ()):
        why = _check(row, ep)
        if why is None and row.capability is None:
            consumed = True  # consumed on purpose (see the row's note)
            continue
        if why is None and row.capability in taken:
            other = taken[row.capability]
            if other.cluster != cluster:
                reasons.append(f"{row.capability} already comes from {cl.describe_cluster(other.cluster)}")
            continue  # an earlier row already gave the capability
        binding = _bind(row, ep, device_id) if why is None else why
        if isinstance(binding, str):
            reasons.append(f"{row.capability}: {binding}")
            continue
        taken[binding.capability] = binding
        out.bindings.append(binding)
        used.update(p.attribute for p in binding.props)
        used.update(row.consumes)
        used_commands.update(c.command_id for c in row.commands if c.name in binding.commands)
        used_events.update(e.event_id for e in row.events)
    if consumed and not out.bindings:
        return out
    left = [a for a in _data_attributes(ep, cluster) if a not in used]
    commands = [c for c in _int_list(ep.value(cluster, cl.ACCEPTED_COMMANDS)) if c not in used_commands]
    events = [e for e in _known_events(ep, cluster) if e not in used_events]
    vendor, problems = (
        vendor_row(ep, cluster, left, commands, events) if left or commands or events else (None, {})
    )
    if vendor is not None and vendor.capability not in taken:
        kept = _bind(vendor, ep, device_id)
        if isinstance(kept, CapBinding):
            out.bindings.append(kept)
    for attribute, why in problems.items():
        out.unmapped.append(
            (f"{ep.id}/{cluster}/{attribute}", f"{cl.attribute_name(cluster, attribute)}: {why}")
        )
    if not out.bindings and not problems:
        out.unmapped.append((f"{ep.id}/{cluster}", _unmapped_reason(cluster, reasons)))
    return out


def map_node(node: Node, prefix: str = "matter", catalog: Catalog | None = None) -> NodeMapping:
    """Match every endpoint of ``node`` against the rows; build descriptions and bindings."""
    result = NodeMapping(node.node_id)
    owner = owners(node, prefix)
    main_id = f"{prefix}:{node.node_id}"
    per_device: dict[str, dict[str, Any]] = {}

    def acct(device_id: str) -> dict[str, Any]:
        return per_device.setdefault(
            device_id,
            {"standard": 0, "vendor": 0, "unmapped": [], "components": [], "claims": PropertyClaims()},
        )

    for ep in node:
        device_id = owner[ep.id]
        acct(device_id)
        result.endpoints.setdefault(device_id, []).append(ep.id)
        bound: dict[str, CapBinding] = {}
        unmapped_here = 0
        for cluster in sorted(ep.clusters):
            if cl.kind(cluster) is cl.Kind.INFRASTRUCTURE or not (
                _data_attributes(ep, cluster) or _int_list(ep.value(cluster, cl.ACCEPTED_COMMANDS))
            ):
                continue  # only global attributes (FeatureMap …) and no command: nothing to map
            outcome = _match_cluster(ep, cluster, device_id, bound)
            for binding in outcome.bindings:
                bound[binding.capability] = binding
                acct(device_id)["vendor" if binding.capability.startswith("x.") else "standard"] += 1
            for feature, reason in outcome.unmapped:
                unmapped_here += 1
                acct(device_id)["unmapped"].append(Unmapped(feature=feature, reason=reason))
        app_types = [d for d in ep.device_types if d not in UTILITY_DEVICE_TYPES]
        if not bound:
            # a composed device's parent endpoint (an oven around its cavities) has its
            # clusters on its parts; only a leaf endpoint that maps nothing is worth a line
            if app_types and not unmapped_here and not ep.parts:
                names = ", ".join(device_type_name(d) for d in app_types)
                acct(device_id)["unmapped"].append(
                    Unmapped(
                        feature=f"{ep.id}",
                        reason=f"endpoint {ep.id} ({names}) has no cluster this adapter maps",
                    )
                )
            continue
        label = ", ".join(device_type_name(d) for d in app_types) or None
        acct(device_id)["components"].append(
            Component(id=f"ep{ep.id}", label=label, capabilities=[b.instance() for b in bound.values()])
        )
        claims: PropertyClaims = acct(device_id)["claims"]
        for b in bound.values():
            for prop in b.props:
                # one capability per endpoint component: the rule can only confirm the place
                claims.bind(
                    f"{ep.id}/{b.cluster:#06x}/{prop.attribute:#06x}", b.component, b.capability, prop.name
                )
            result.caps[(device_id, b.component, b.capability)] = b
            for prop in b.props:
                result.by_attribute.setdefault((ep.id, b.cluster, prop.attribute), []).append(b)
            for evt in b.row.events:
                result.by_event.setdefault((ep.id, b.cluster, evt.event_id), []).append((b, evt))
        if device_id != main_id and ep.has(cl.BRIDGED_DEVICE_BASIC_INFORMATION, 0x0011):
            result.reachable[device_id] = (ep.id, cl.BRIDGED_DEVICE_BASIC_INFORMATION, 0x0011)

    root = node.endpoints.get(0)
    bridge_name = _text(root.value(cl.BASIC_INFORMATION, 0x0005)) if root else None
    bridge_name = bridge_name or (_text(root.value(cl.BASIC_INFORMATION, 0x0003)) if root else None)
    for device_id, acc in per_device.items():
        comps: list[Component] = acc["components"]
        if device_id == main_id:
            info, info_cluster, via, fallback = (
                root,
                cl.BASIC_INFORMATION,
                None,
                f"Matter node {node.node_id}",
            )
        else:
            ep_id = int(device_id.rsplit("-", 1)[1])
            info, info_cluster, via = node.endpoints.get(ep_id), cl.BRIDGED_DEVICE_BASIC_INFORMATION, main_id
            fallback = f"{bridge_name or f'Matter node {node.node_id}'} endpoint {ep_id}"
        description = (
            _describe(device_id, info, info_cluster, fallback, via=via, comps=comps) if comps else None
        )
        unmapped: list[Unmapped] = acc["unmapped"]
        if description is None:
            unmapped = [
                *unmapped,
                Unmapped(feature=device_id, reason="no endpoint of this device maps to DHI"),
            ]
        else:
            result.devices[device_id] = description
        result.reports.append(
            DeviceMapping(
                id=device_id,
                name=description.name if description else fallback,
                description=description,
                features=acc["standard"] + acc["vendor"] + len(unmapped),
                standard=acc["standard"],
                vendor=acc["vendor"],
                unmapped=unmapped,
                mapping=acc["claims"].fates,
            )
        )
    return result


def node_states(
    mapping: NodeMapping, node: Node, lookup: PropLookup
) -> Iterable[tuple[CapBinding, dict[str, Any], list[str]]]:
    """Every capability's current state (for the first publish after a node appears)."""
    for binding in mapping.caps.values():
        values, errors = binding.read_state(node.endpoints[binding.endpoint], lookup)
        yield binding, values, errors
