"""Write adapters/matter/datamodel.json: each cluster's attributes, their types and enums.

Run with the python-matter-server venv (it has the CHIP SDK's generated cluster objects
and the server's custom vendor clusters); the hub itself does not depend on the SDK:

    .venv-matter/bin/python tools/matter-datamodel/generate.py > adapters/matter/datamodel.json

The output holds facts of the Matter data model only (ids, names, value types, enum
members; each client command's and event's fields), so the adapter can type a vendor
property, command or event for any attribute, command or event no row maps.
"""

from __future__ import annotations

import enum
import json
import re
import sys
import typing
from typing import Any

import chip.clusters.Objects  # noqa: F401  (registers the standard clusters)
import matter_server.common.custom_clusters  # noqa: F401  (registers Eve, Inovelli, Heiman …)
from chip.clusters.ClusterObjects import (
    ALL_ACCEPTED_COMMANDS,
    ALL_ATTRIBUTES,
    ALL_CLUSTERS,
    ALL_EVENTS,
    ClusterObject,
)
from chip.clusters.Types import Nullable
from chip.tlv import float32, uint

GLOBAL = {0xFFF8, 0xFFF9, 0xFFFA, 0xFFFB, 0xFFFC, 0xFFFD}


def snake(name: str) -> str:
    name = re.sub(r"^k(?=[A-Z0-9])", "", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "value"


def describe(tp: Any) -> tuple[str, bool, dict[str, str] | None]:
    """(DHI value type, nullable, enum members) of one SDK attribute type."""
    nullable = False
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        nullable = Nullable in args
        args = [a for a in args if a is not Nullable]
        tp = args[0] if len(args) == 1 else str
        origin = typing.get_origin(tp)
    if origin is list:
        return "array", nullable, None
    if isinstance(tp, type):
        if issubclass(tp, bool):
            return "boolean", nullable, None
        if issubclass(tp, enum.IntFlag):
            return "integer", nullable, None
        if issubclass(tp, enum.Enum):
            members = {str(int(m.value)): snake(m.name) for m in tp if m.name != "kUnknownEnumValue"}
            return "enum", nullable, members or None
        if issubclass(tp, (float, float32)):
            return "number", nullable, None
        if issubclass(tp, (int, uint)):
            return "integer", nullable, None
        if issubclass(tp, (str, bytes)):
            return "string", nullable, None
        if issubclass(tp, ClusterObject):
            return "object", nullable, None
    return "string", nullable, None


def fields(obj: Any) -> list[list[Any]]:
    """[label, type, nullable, optional, (enum members)] of each field of a command or event."""
    out = []
    for f in obj.descriptor.Fields:
        optional = typing.get_origin(f.Type) is typing.Union and type(None) in typing.get_args(f.Type)
        kind, nullable, members = describe(f.Type)
        entry: list[Any] = [f.Label, kind, nullable, optional]
        if members:
            entry.append(members)
        out.append(entry)
    return out


def main() -> None:
    out: dict[str, Any] = {}
    for cid in sorted(set(ALL_ATTRIBUTES) | set(ALL_ACCEPTED_COMMANDS) | set(ALL_EVENTS)):
        cluster = ALL_CLUSTERS.get(cid)
        attrs: dict[str, Any] = {}
        for aid in sorted(ALL_ATTRIBUTES.get(cid, {})):
            if aid in GLOBAL:
                continue
            attr = ALL_ATTRIBUTES[cid][aid]
            kind, nullable, members = describe(attr.attribute_type.Type)
            entry: list[Any] = [attr.__name__, kind, nullable]
            if members:
                entry.append(members)
            attrs[str(aid)] = entry
        # commands a client sends (with whether the spec wants a timed invoke), and events
        commands = {
            str(c): [cmd.__name__, fields(cmd), bool(getattr(cmd, "must_use_timed_invoke", False))]
            for c, cmd in sorted(ALL_ACCEPTED_COMMANDS.get(cid, {}).items())
        }
        events = {str(e): [evt.__name__, fields(evt)] for e, evt in sorted(ALL_EVENTS.get(cid, {}).items())}
        out[str(cid)] = {
            "name": cluster.__name__ if cluster else f"0x{cid:04X}",
            "attributes": attrs,
            "commands": commands,
            "events": events,
        }
    json.dump(out, sys.stdout, indent=0, sort_keys=False, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
