"""W3C WoT Thing Description 1.1 for a DHI device (DHI v1 §11).

Every DHI property, command and event becomes a TD property, action and event whose forms
point at the hub API (``/api/v1``), so a generic WoT consumer can use a dhome hub.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dhi.catalog import Catalog
from dhi.models import DeviceDescription
from dhi.models.catalog import Access, CapabilityDef, Labels, PropertyDef, ValueType
from dhi.models.device import CapabilityInstance, PropertyConstraint

TD_CONTEXT = "https://www.w3.org/2022/wot/td/v1.1"
DHI_NS = "https://dhome.dev/dhi/v1#"

_TD_TYPES: dict[ValueType, str] = {
    ValueType.BOOLEAN: "boolean",
    ValueType.INTEGER: "integer",
    ValueType.NUMBER: "number",
    ValueType.STRING: "string",
    ValueType.ENUM: "string",
    ValueType.OBJECT: "object",
    ValueType.ARRAY: "array",
}


def _texts(labels: Labels | None) -> dict[str, str]:
    return {"en": labels.en, "zh-CN": labels.zh_cn} if labels else {}


def _affordance_name(component: str, capability: str, member: str) -> str:
    return f"{component}/{capability.removeprefix('dhi.')}/{member}"


def _data_schema(prop: PropertyDef, constraint: PropertyConstraint | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _TD_TYPES[prop.type]}
    if prop.type is ValueType.ENUM:
        schema["enum"] = list(
            (constraint.enum if constraint and constraint.enum else None) or prop.enum or []
        )
    lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
    hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
    for key, val in (("minimum", lo), ("maximum", hi)):
        if val is not None:
            schema[key] = int(val) if prop.type is ValueType.INTEGER else val
    step = constraint.step if constraint and constraint.step else prop.step
    if step is not None and prop.type in (ValueType.INTEGER, ValueType.NUMBER):
        schema["multipleOf"] = (
            int(step) if prop.type is ValueType.INTEGER and float(step).is_integer() else step
        )
    if prop.unit:
        schema["unit"] = prop.unit
    if prop.schema_ and prop.type in (ValueType.OBJECT, ValueType.ARRAY):
        for key in ("properties", "items", "required"):
            if key in prop.schema_:
                schema[key] = prop.schema_[key]
    return schema


def _json_schema_to_td(schema: dict[str, Any]) -> dict[str, Any]:
    """Keep the TD DataSchema subset of a JSON Schema (drops 2020-12-only keywords)."""
    allowed = {
        "type", "properties", "required", "items", "enum", "const", "minimum", "maximum",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "description", "title",
        "unit", "format", "multipleOf", "default", "exclusiveMinimum", "exclusiveMaximum",
    }  # fmt: skip
    out: dict[str, Any] = {}
    for key, val in schema.items():
        if key not in allowed:
            continue
        if key == "properties" and isinstance(val, dict):
            out[key] = {k: _json_schema_to_td(v) for k, v in val.items() if isinstance(v, dict)}
        elif key == "items" and isinstance(val, dict):
            out[key] = _json_schema_to_td(val)
        elif key == "type" and isinstance(val, list):
            out["oneOf"] = [{"type": t} for t in val]  # a TD DataSchema has exactly one type
        else:
            out[key] = val
    return out


def _definition(inst: CapabilityInstance, catalog: Catalog) -> CapabilityDef | None:
    return inst.definition if inst.definition is not None else catalog.get(inst.id)


def thing_description(desc: DeviceDescription, catalog: Catalog, base: str) -> dict[str, Any]:
    """``base`` is the API root, e.g. ``http://hub.local:8470/api/v1/``."""
    base = base if base.endswith("/") else base + "/"
    dev = f"devices/{quote(desc.id, safe='')}"
    ws = "ws" + base.removeprefix("http") + "ws" if base.startswith("http") else base + "ws"
    properties: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    events: dict[str, Any] = {}
    for comp in desc.components:
        for inst in comp.capabilities:
            definition = _definition(inst, catalog)
            if definition is None:
                continue
            cap_path = f"{dev}/state/{comp.id}/{quote(inst.id, safe='')}"
            for prop in definition.properties:
                if inst.properties is not None and prop.name not in inst.properties:
                    continue
                aff = _data_schema(prop, (inst.constraints or {}).get(prop.name))
                ops = []
                if Access.READ in prop.access:
                    ops.append("readproperty")
                if prop.writable:
                    ops.append("writeproperty")
                aff |= {
                    "title": (prop.label or definition.label).en,
                    "titles": _texts(prop.label or definition.label),
                    "readOnly": not prop.writable,
                    "writeOnly": Access.READ not in prop.access,
                    "observable": Access.NOTIFY in prop.access,
                    "@type": f"dhi:{inst.id}",
                    "forms": [
                        {"href": f"{cap_path}/{prop.name}", "op": ops or ["readproperty"],
                         "contentType": "application/json"},
                    ],
                }  # fmt: skip
                if prop.description:
                    aff["descriptions"] = _texts(prop.description)
                    aff["description"] = prop.description.en
                if Access.NOTIFY in prop.access:
                    aff["forms"].append({"href": ws, "op": ["observeproperty", "unobserveproperty"],
                                         "subprotocol": "dhi-ws"})  # fmt: skip
                properties[_affordance_name(comp.id, inst.id, prop.name)] = aff
            for cmd in definition.commands:
                if inst.commands is not None and cmd.name not in inst.commands:
                    continue
                label = cmd.label or definition.label
                actions[_affordance_name(comp.id, inst.id, cmd.name)] = {
                    "title": label.en,
                    "titles": _texts(label),
                    "@type": f"dhi:{inst.id}",
                    "input": _json_schema_to_td(cmd.params),
                    "forms": [
                        {"href": f"{dev}/actions/{comp.id}/{quote(inst.id, safe='')}/{cmd.name}",
                         "op": "invokeaction", "htv:methodName": "POST", "contentType": "application/json"},
                    ],
                }  # fmt: skip
            for ev in definition.events:
                if inst.events is not None and ev.name not in inst.events:
                    continue
                label = ev.label or definition.label
                events[_affordance_name(comp.id, inst.id, ev.name)] = {
                    "title": label.en,
                    "titles": _texts(label),
                    "@type": f"dhi:{inst.id}",
                    "data": _json_schema_to_td(ev.payload),
                    "forms": [
                        {"href": ws, "op": ["subscribeevent", "unsubscribeevent"], "subprotocol": "dhi-ws"}
                    ],
                }
    td: dict[str, Any] = {
        "@context": [TD_CONTEXT, {"dhi": DHI_NS}],
        "@type": "Thing",
        "id": f"urn:dhome:device:{quote(desc.id, safe=':')}",
        "title": desc.name,
        "base": base,
        "securityDefinitions": {"bearer_sc": {"scheme": "bearer", "in": "header", "name": "Authorization"}},
        "security": ["bearer_sc"],
        "properties": properties,
        "actions": actions,
        "events": events,
    }
    if desc.manufacturer or desc.model:
        td["description"] = " ".join(x for x in (desc.manufacturer, desc.model) if x)
    if desc.firmware:
        td["version"] = {"instance": desc.firmware}
    return td
