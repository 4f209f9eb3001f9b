"""Typed vendor properties: an expose no catalog row takes keeps its kind, unit (UCUM),
range, members and access as ``x.zigbee2mqtt.<name>`` — nothing is dropped."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from adapters.sdk.convert import ConversionError, Converter
from adapters.zigbee2mqtt import naming, units
from adapters.zigbee2mqtt.converters import (
    binary_to_bool,
    enum_key,
    enum_to_str,
    passthrough,
    special_presets,
    text,
    with_null_preset,
)
from adapters.zigbee2mqtt.exposes import AccessBit, Expose, parse_exposes
from dhi.models import PropertyDef
from dhi.models.catalog import Access, Labels, ValueType


def access_of(bits: int) -> list[Access]:
    """Zigbee2MQTT access bits -> DHI access: 1 published (read + notify), 2 settable
    (write), 4 gettable (read)."""
    out: list[Access] = []
    if bits & (AccessBit.STATE | AccessBit.GET):
        out.append(Access.READ)
    if bits & AccessBit.SET:
        out.append(Access.WRITE)
    if bits & AccessBit.STATE:
        out.append(Access.NOTIFY)
    return out


def labels(text_: str) -> Labels:
    # Zigbee2MQTT only has English text; it stands in for zh-CN until someone translates it.
    value = naming.clean_text(text_, 500) or "-"
    return Labels(en=value, zh_cn=value)


def human(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def _schema(expose: Expose, depth: int = 0) -> dict[str, Any]:
    """JSON Schema of a raw Zigbee2MQTT value (for composite and list vendor properties)."""
    if depth > 8:
        return {}
    kind = expose.type
    if kind == "numeric":
        return {"type": "number"}
    if kind == "binary":
        members = [v for v in (expose.value_on, expose.value_off, expose.value_toggle) if v is not None]
        return {"enum": members} if members else {}
    if kind == "enum":
        return {"enum": list(expose.values)} if expose.values else {}
    if kind == "text":
        return {"type": "string"}
    if kind == "composite":
        props: dict[str, Any] = {}
        good, _ = parse_exposes(expose.features or [])
        for f in good:
            if f.key:
                props[f.key] = _schema(f, depth + 1)
        return {"type": "object", "properties": props}
    if kind == "list":
        schema: dict[str, Any] = {"type": "array"}
        if isinstance(expose.item_type, dict):
            items, _ = parse_exposes([expose.item_type])
            if items:
                schema["items"] = _schema(items[0], depth + 1)
        if expose.length_min is not None and expose.length_min >= 0:
            schema["minItems"] = expose.length_min
        if expose.length_max is not None and expose.length_max >= 0:
            schema["maxItems"] = expose.length_max
        return schema
    return {}


def _presets_note(expose: Expose) -> str:
    if not expose.presets:
        return ""
    parts = [f"{p.name}={p.value}" for p in expose.presets]
    return " Presets: " + ", ".join(parts) + "."


@dataclass(frozen=True)
class _Vendor:
    prop: PropertyDef
    convert: Converter


class VendorError(ValueError):
    """The expose cannot become a typed property (the reason goes to ``unmapped``)."""


def vendor_property(expose: Expose, name: str, known_units: Collection[str]) -> _Vendor:
    """A typed vendor property for an expose no catalog row takes: type, unit (UCUM),
    range, enum members and access all carried over."""
    bits = expose.access
    if not bits and expose.type == "composite":
        # some composites leave access to their features: the whole is what its parts allow
        features, _ = parse_exposes(expose.features or [])
        for f in features:
            bits |= f.access
    access = access_of(bits)
    if not access:
        raise VendorError("expose has no access bits (neither published, settable nor gettable)")
    label = expose.label or human(expose.base_name)
    description = expose.description or label
    kind = expose.type
    extra: dict[str, Any] = {}
    if kind == "binary":
        conv = binary_to_bool(expose)
        if conv is None:
            raise VendorError("binary expose needs two different value_on/value_off")
        vtype = ValueType.BOOLEAN
        description += f" (true = {expose.value_on!r}, false = {expose.value_off!r})"
    elif kind == "numeric":
        resolved = units.resolve(expose.unit, known_units)
        conv = resolved.convert
        specials = special_presets(expose)
        if len(specials) > 1:
            raise VendorError(f"numeric expose with several non-numeric presets {specials!r}")
        if specials:
            conv = with_null_preset(conv, specials[0])
            extra["nullable"] = True
            description += f" (null = preset {specials[0]!r})"
        lo, hi = units.range_through(resolved.convert, expose.value_min, expose.value_max)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        extra.update(unit=resolved.ucum, minimum=lo, maximum=hi)
        if expose.value_step is not None and expose.value_step > 0:
            step = _converted_step(resolved.convert, expose.value_step)
            if step:
                extra["step"] = step
        if resolved.vendor_unit is not None:
            description += f" [unit: {resolved.vendor_unit}]"
        description += _presets_note(expose)
        vtype = ValueType.NUMBER
    elif kind == "enum":
        if expose.values:
            members = list(dict.fromkeys(enum_key(v) for v in expose.values))
            conv = enum_to_str(list(expose.values))
            vtype = ValueType.ENUM
            extra["enum"] = members
        else:
            conv, vtype = text(), ValueType.STRING
    elif kind == "text":
        conv, vtype = text(), ValueType.STRING
    elif kind == "composite":
        conv, vtype = passthrough(dict), ValueType.OBJECT
        extra["schema"] = _schema(expose)
    elif kind == "list":
        conv, vtype = passthrough(list), ValueType.ARRAY
        extra["schema"] = _schema(expose)
    else:
        raise VendorError(f"unknown expose type {kind!r}")
    try:
        prop = PropertyDef(
            name=name,
            type=vtype,
            label=labels(label),
            description=labels(description),
            access=access,
            **{k: v for k, v in extra.items() if v is not None},
        )
    except ValidationError as exc:
        raise VendorError(f"cannot describe the expose: {exc.errors()[0]['msg']}") from None
    return _Vendor(prop, conv)


def _converted_step(conv: Converter, step: float) -> float | None:
    try:
        a, b = conv(0), conv(step)
    except ConversionError:
        return None
    out = abs(float(b) - float(a))
    if out <= 0:
        return None
    return float(f"{out:.12g}")
