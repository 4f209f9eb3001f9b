"""A Matter node as the Matter Server reports it, parsed into endpoints and clusters.

The server (python-matter-server and matterjs-server alike) sends a node as
``{"node_id", "available", "is_bridge", "attributes": {"<endpoint>/<cluster>/<attribute>": value}}``;
struct values are objects keyed by field tag (``{"0": 22, "1": 1}``). Home Assistant
diagnostics wrap the same node as ``{"data": {"node": …}}``.

Older python-matter-server dumps nest attributes by endpoint and cluster *name*
(``{"0": {"Basic": {"vendorName": …}}}``) with structs keyed by field name;
:func:`normalize_node` turns those into the flat form so one parser serves both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from adapters.matter import clusters as cl

# Descriptor attributes (Core spec 9.5.6).
DEVICE_TYPE_LIST: Final = 0
SERVER_LIST: Final = 1
PARTS_LIST: Final = 3

# Legacy struct field names -> tags for the structs the adapter reads.
_LEGACY_STRUCT_TAGS: Final[dict[str, str]] = {"type": "0", "devicetype": "0", "revision": "1"}


class NodeFormatError(ValueError):
    """The data is not a Matter node dump in any format this adapter knows."""


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: its device types and the attribute values of each cluster it reported."""

    id: int
    device_types: tuple[int, ...]
    clusters: Mapping[int, Mapping[int, Any]]
    server_list: tuple[int, ...] = ()
    parts: tuple[int, ...] = ()

    def has(self, cluster: int, attribute: int | None = None) -> bool:
        values = self.clusters.get(cluster)
        if values is None:
            return False
        return attribute is None or attribute in values

    def value(self, cluster: int, attribute: int, default: Any = None) -> Any:
        return self.clusters.get(cluster, {}).get(attribute, default)

    def feature_map(self, cluster: int) -> int:
        value = self.value(cluster, cl.FEATURE_MAP, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def accepts_command(self, cluster: int, command_id: int) -> bool | None:
        """Whether the cluster lists the command as accepted; ``None`` when the dump has no list."""
        accepted = self.value(cluster, cl.ACCEPTED_COMMANDS)
        if not isinstance(accepted, list):
            return None
        return command_id in accepted


@dataclass(frozen=True)
class Node:
    node_id: int
    available: bool
    attributes: Mapping[str, Any]
    endpoints: Mapping[int, Endpoint]
    #: attribute keys that could not be parsed (reported, never fatal)
    problems: tuple[str, ...] = field(default=())

    def endpoint_ids(self) -> list[int]:
        return sorted(self.endpoints)

    def __iter__(self) -> Iterator[Endpoint]:
        return (self.endpoints[e] for e in sorted(self.endpoints))


def attribute_path(endpoint: int, cluster: int, attribute: int) -> str:
    return f"{endpoint}/{cluster}/{attribute}"


def parse_path(path: str) -> tuple[int, int, int]:
    """``"1/6/0"`` -> ``(1, 6, 0)``; raises :class:`NodeFormatError` on anything else."""
    parts = path.split("/")
    if len(parts) != 3:
        raise NodeFormatError(f"attribute path {path!r} is not <endpoint>/<cluster>/<attribute>")
    try:
        ep, cluster, attr = (int(p) for p in parts)
    except ValueError:
        raise NodeFormatError(f"attribute path {path!r} has a non-numeric part") from None
    if min(ep, cluster, attr) < 0:
        raise NodeFormatError(f"attribute path {path!r} has a negative part")
    return ep, cluster, attr


def _device_types(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for entry in value:
        dt = entry.get("0") if isinstance(entry, dict) else None
        if isinstance(dt, int) and not isinstance(dt, bool):
            out.append(dt)
    return tuple(out)


def _int_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def parse_node(data: Mapping[str, Any]) -> Node:
    """Parse a (flat or legacy) node dump. Bad attribute keys are kept as ``problems``."""
    flat = normalize_node(data)
    node_id = flat["node_id"]
    per_ep: dict[int, dict[int, dict[int, Any]]] = {}
    problems = []
    for key, value in flat["attributes"].items():
        try:
            ep, cluster, attr = parse_path(key)
        except NodeFormatError as exc:
            problems.append(str(exc))
            continue
        per_ep.setdefault(ep, {}).setdefault(cluster, {})[attr] = value
    endpoints = {}
    for ep, clusters in per_ep.items():
        desc = clusters.get(cl.DESCRIPTOR, {})
        endpoints[ep] = Endpoint(
            id=ep,
            device_types=_device_types(desc.get(DEVICE_TYPE_LIST)),
            clusters=clusters,
            server_list=_int_list(desc.get(SERVER_LIST)),
            parts=_int_list(desc.get(PARTS_LIST)),
        )
    return Node(
        node_id=node_id,
        available=bool(flat.get("available", True)),
        attributes=flat["attributes"],
        endpoints=endpoints,
        problems=tuple(problems),
    )


# ---------------------------------------------------------------- input formats


def unwrap(data: Any) -> list[Mapping[str, Any]]:
    """Accept a bare node, a HA diagnostics wrapper (``{"data": {"node": …}}``), a server
    diagnostics dump (``{"data": {"server": {"nodes": […]}}}``), ``{"nodes": […]}`` or a list."""
    if isinstance(data, list):
        out: list[Mapping[str, Any]] = []
        for item in data:
            out.extend(unwrap(item))
        return out
    if not isinstance(data, dict):
        raise NodeFormatError(f"expected a JSON object or list, got {type(data).__name__}")
    if "attributes" in data:
        return [data]
    inner = data.get("data")
    if isinstance(inner, dict):
        if "node" in inner:
            return unwrap(inner["node"])
        server = inner.get("server")
        if isinstance(server, dict) and "nodes" in server:
            return unwrap(server["nodes"])
    if "nodes" in data:
        nodes = data["nodes"]
        return unwrap(list(nodes.values()) if isinstance(nodes, dict) else nodes)
    raise NodeFormatError(
        "not a Matter node dump: expected 'attributes', {'data': {'node': …}} or a list of nodes"
    )


def _is_legacy(attributes: Mapping[str, Any]) -> bool:
    return any(isinstance(v, dict) and "/" not in k for k, v in attributes.items())


def normalize_node(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the node in the server's current (flat) format; legacy dumps are converted.

    Adds the keys the server's own loader requires (``date_commissioned`` …) when a dump
    lacks them, and drops keys it rejects (legacy ``events``)."""
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise NodeFormatError("node dump has no 'attributes' object")
    node_id = data.get("node_id", 0)
    if not isinstance(node_id, int) or isinstance(node_id, bool) or node_id < 0:
        raise NodeFormatError(f"node_id must be a non-negative integer, got {node_id!r}")
    flat = _flatten_legacy(attributes) if _is_legacy(attributes) else dict(attributes)
    stamp = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    out: dict[str, Any] = {
        "node_id": node_id,
        "date_commissioned": data.get("date_commissioned", stamp),
        "last_interview": data.get("last_interview", stamp),
        "interview_version": data.get("interview_version", 6),
        "available": data.get("available", True),
        "is_bridge": data.get("is_bridge", False),
        "attributes": flat,
        "attribute_subscriptions": data.get("attribute_subscriptions", []),
    }
    return out


def _legacy_value(value: Any) -> Any:
    """Legacy structs are keyed by field name with a ``_type`` marker; known ones get tags."""
    if isinstance(value, list):
        return [_legacy_value(v) for v in value]
    if isinstance(value, dict):
        return {
            _LEGACY_STRUCT_TAGS.get(k.lower(), k): _legacy_value(v) for k, v in value.items() if k != "_type"
        }
    return value


def _flatten_legacy(attributes: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for ep_key, cluster_map in attributes.items():
        if not isinstance(cluster_map, dict):
            continue
        for cluster_key, attrs in cluster_map.items():
            cluster = cl.cluster_id_by_name(cluster_key)
            if cluster is None and cluster_key.isdigit():
                cluster = int(cluster_key)
            if cluster is None or not isinstance(attrs, dict):
                # keep it visible: an unknown cluster name becomes a parse problem later
                flat[f"{ep_key}/{cluster_key}/?"] = attrs
                continue
            for attr_key, value in attrs.items():
                if attr_key == "_type":
                    continue
                attr = cl.attribute_id_by_name(cluster, attr_key)
                if attr is None:
                    attr = int(attr_key) if attr_key.isdigit() else None
                if attr is None:
                    continue  # an attribute name we have no id for cannot be mapped anyway
                flat[attribute_path(int(ep_key), cluster, attr)] = _legacy_value(value)
    return flat
