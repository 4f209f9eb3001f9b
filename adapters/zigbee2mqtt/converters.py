"""Value converters built from an expose: Zigbee2MQTT value <-> DHI value.

A *factory* looks at one expose and the catalog property it should fill and returns a
``Converter`` — or ``None`` when the two do not fit (wrong kind, unit of another
quantity, enum values the catalog does not know). ``None`` is not an error: the mapping
then keeps the expose as a typed vendor property, so nothing is lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

from adapters.sdk.convert import ConversionError, Converter, enum_map, identity
from adapters.zigbee2mqtt import units
from adapters.zigbee2mqtt.exposes import Expose
from dhi.models.catalog import PropertyDef, ValueType

#: (expose, catalog property, units known to the catalog) -> converter, or None if unfit
Factory = Callable[[Expose, PropertyDef, Collection[str]], Converter | None]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def enum_key(value: Any) -> str:
    """DHI enum members are strings; Zigbee2MQTT enum values may be numbers or booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def binary_to_bool(expose: Expose, *, invert: bool = False) -> Converter | None:
    """``value_on`` <-> True (False with ``invert``, e.g. z2m ``contact: true`` = closed)."""
    on, off = expose.value_on, expose.value_off
    if on is None or off is None or on == off:
        return None
    forward = {on: not invert, off: invert}
    reverse = {not invert: on, invert: off}

    def to_hub(v: Any) -> Any:
        try:
            return forward[v]
        except (KeyError, TypeError):
            raise ConversionError(f"unknown value {v!r}; expected {on!r} or {off!r}") from None

    def from_hub(v: Any) -> Any:
        if not isinstance(v, bool):
            raise ConversionError(f"expected a boolean, got {type(v).__name__}")
        return reverse[v]

    return Converter(to_hub, from_hub, f"binary({on!r}/{off!r}{', inverted' if invert else ''})")


def enum_to_str(values: list[Any]) -> Converter:
    """Zigbee2MQTT enum value <-> its string form (numbers become "30", back to 30)."""
    back = {enum_key(v): v for v in values}

    def to_hub(v: Any) -> Any:
        key = enum_key(v)
        if key not in back:
            raise ConversionError(f"unknown value {v!r}; expected one of {list(back)}")
        return key

    def from_hub(v: Any) -> Any:
        if isinstance(v, str) and v in back:
            return back[v]
        raise ConversionError(f"unknown value {v!r}; expected one of {list(back)}")

    return Converter(to_hub, from_hub, "enum")


def string_enum(value_map: Mapping[Any, str]) -> Converter:
    """Vendor enum -> catalog enum through an explicit table (both directions)."""
    return enum_map(value_map)


def text() -> Converter:
    def check(v: Any) -> Any:
        if not isinstance(v, str):
            raise ConversionError(f"expected a string, got {type(v).__name__}")
        return v

    return Converter(check, check, "text")


def passthrough(kind: type) -> Converter:
    """Objects (composites) and arrays (lists) pass unchanged; only the JSON kind is checked."""

    def check(v: Any) -> Any:
        if not isinstance(v, kind):
            raise ConversionError(f"expected a JSON {'object' if kind is dict else 'array'}")
        return v

    return Converter(check, check, kind.__name__)


def special_presets(expose: Expose) -> list[Any]:
    """Preset values that are not numbers inside the expose's range ("previous", 65535 …)."""
    out: list[Any] = []
    for p in expose.presets or []:
        v = p.value
        outside = not _is_number(v) or (
            (expose.value_min is not None and v < expose.value_min)
            or (expose.value_max is not None and v > expose.value_max)
        )
        if outside:
            out.append(v)
    return out


def with_null_preset(conv: Converter, preset: Any) -> Converter:
    """One special preset (``previous`` …) <-> DHI ``null``; numbers go through ``conv``."""

    def to_hub(v: Any) -> Any:
        return None if v == preset else conv(v)

    def from_hub(v: Any) -> Any:
        return preset if v is None else conv.back(v)

    return Converter(to_hub, from_hub, f"{conv.name}+null={preset!r}")


def with_presets(conv: Converter, presets: Mapping[Any, Any]) -> Converter:
    """Special presets <-> fixed DHI values (e.g. ``minimum`` <-> 0 %, ``previous`` <-> null)."""
    back = {v: k for k, v in presets.items()}

    def to_hub(v: Any) -> Any:
        if not isinstance(v, bool) and isinstance(v, str | int | float) and v in presets:
            return presets[v]
        return conv(v)

    def from_hub(v: Any) -> Any:
        if v is None or (not isinstance(v, bool) and v in back):
            return back[v]
        return conv.back(v)

    return Converter(to_hub, from_hub, f"{conv.name}+presets")


def numeric_only(conv: Converter) -> Converter:
    """Reject non-numbers before a unit conversion so the error message is precise."""

    def to_hub(v: Any) -> Any:
        if not _is_number(v):
            raise ConversionError(f"expected a number, got {type(v).__name__}")
        return conv(v)

    return Converter(to_hub, conv.from_hub, conv.name)


def as_integer(conv: Converter) -> Converter:
    def to_hub(v: Any) -> Any:
        out = conv(v)
        return round(out) if _is_number(out) else out

    return Converter(to_hub, conv.from_hub, f"int({conv.name})")


def fraction_of_full_scale(expose: Expose, full_scale: float | None = None) -> Converter | None:
    """A raw level (0..value_max, e.g. z2m brightness 0..254) <-> 0..100 %."""
    top = full_scale if full_scale is not None else expose.value_max
    if top is None or top <= 0:
        return None

    def to_hub(v: Any) -> Any:
        if not _is_number(v):
            raise ConversionError(f"expected a number, got {type(v).__name__}")
        return round(min(max(v / top * 100, 0.0), 100.0), 1)

    def from_hub(v: Any) -> Any:
        if not _is_number(v):
            raise ConversionError(f"expected a number, got {type(v).__name__}")
        return round(min(max(v, 0.0), 100.0) * top / 100)

    return Converter(to_hub, from_hub, f"percent_of({top:g})")


# ---------------------------------------------------------------- factories


def _number_converter(
    expose: Expose, prop: PropertyDef, assume_unit: str | None, force_unit: str | None = None
) -> Converter | None:
    z2m_unit = force_unit or (expose.unit if expose.unit and expose.unit.strip() else assume_unit)
    if prop.unit is None:
        # a unitless catalog property takes counts and indexes ("lqi", "VOC index points"),
        # never a physical quantity
        conv: Converter | None = units.to_catalog_unit(z2m_unit, None)
    elif z2m_unit is None:
        return None
    else:
        conv = units.to_catalog_unit(z2m_unit, prop.unit)
    return None if conv is None else numeric_only(conv)


def _attach_presets(
    conv: Converter, expose: Expose, prop: PropertyDef, preset_map: Mapping[Any, Any] | None
) -> Converter | None:
    specials = special_presets(expose)
    if preset_map is not None:
        if any(s not in preset_map for s in specials):
            return None
        if any(v is None for v in preset_map.values()) and not prop.nullable:
            return None
        return with_presets(conv, {k: v for k, v in preset_map.items() if k in specials})
    if not specials:
        return conv
    if len(specials) == 1 and prop.nullable:
        return with_null_preset(conv, specials[0])
    return None


def auto(
    *,
    invert: bool = False,
    assume_unit: str | None = None,
    value_map: Mapping[Any, str] | None = None,
    preset_map: Mapping[Any, Any] | None = None,
    force_unit: str | None = None,
) -> Factory:
    """The default: pick the conversion from the expose kind and the catalog property.

    ``invert`` flips a binary, ``assume_unit`` names the unit of a numeric expose that
    omits it (``force_unit`` overrides a vendor spelling such as ``%LEL``), ``value_map`` translates enum members, ``preset_map`` gives special numeric
    presets fixed DHI values.
    """

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        kind, target = expose.type, prop.type
        if target is ValueType.BOOLEAN:
            return binary_to_bool(expose, invert=invert) if kind == "binary" else None
        if target in (ValueType.NUMBER, ValueType.INTEGER):
            if kind != "numeric":
                return None
            conv = _number_converter(expose, prop, assume_unit, force_unit)
            if conv is None:
                return None
            if target is ValueType.INTEGER:
                conv = as_integer(conv)
            return _attach_presets(conv, expose, prop, preset_map)
        if target is ValueType.ENUM:
            return _enum_target(expose, prop, value_map)
        if target is ValueType.STRING:
            if kind == "text":
                return text()
            if kind == "enum" and expose.values:
                return enum_to_str(list(expose.values))
            return None
        if target is ValueType.OBJECT:
            return passthrough(dict) if kind == "composite" else None
        # ValueType.ARRAY
        return passthrough(list) if kind == "list" else None

    return make


def _enum_target(expose: Expose, prop: PropertyDef, value_map: Mapping[Any, str] | None) -> Converter | None:
    allowed = set(prop.enum or [])
    if expose.type == "enum" and expose.values:
        values = list(expose.values)
    elif expose.type == "binary" and expose.value_on is not None and expose.value_off is not None:
        values = [expose.value_on, expose.value_off]
    else:
        return None
    table = {v: (value_map or {}).get(v, enum_key(v)) for v in values}
    if not set(table.values()) <= allowed:
        # a member the catalog cannot express would be lost: keep the expose as vendor
        return None
    return string_enum(table)


def percent_of_range(full_scale: float | None = None, preset_map: Mapping[Any, Any] | None = None) -> Factory:
    """Raw levels (brightness 0..254, 0..1000 on some Tuya dimmers) -> % of full scale."""

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        if expose.type != "numeric" or prop.unit != "%" or expose.unit not in (None, "", "%"):
            return None
        if expose.unit == "%":
            conv: Converter | None = numeric_only(identity)
        else:
            conv = fraction_of_full_scale(expose, full_scale)
        return None if conv is None else _attach_presets(conv, expose, prop, preset_map)

    return make


def tenths_of_second() -> Factory:
    """ZCL transition times in 1/10 s (``level_config.on_off_transition_time``) -> s."""

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        if expose.type != "numeric" or prop.unit != "s":
            return None
        if expose.unit and expose.unit.strip():
            return auto()(expose, prop, known)
        conv = units.converter(units.Unit(None, "s", 0.1), units.Unit("s", "s"))
        if conv is None:  # pragma: no cover - same quantity by construction
            return None
        return _attach_presets(numeric_only(conv), expose, prop, None)

    return make


def enum_to_bool(*, true: tuple[Any, ...], false: tuple[Any, ...]) -> Factory:
    """A two-valued enum (or binary) whose members read as yes/no (``forward``/``back``)."""

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        if prop.type is not ValueType.BOOLEAN:
            return None
        if expose.type == "binary":
            values = [expose.value_on, expose.value_off]
        elif expose.type == "enum" and expose.values:
            values = list(expose.values)
        else:
            return None
        table: dict[Any, bool] = {}
        for v in values:
            if v in true:
                table[v] = True
            elif v in false:
                table[v] = False
            else:
                return None  # a third meaning would be lost
        if set(table.values()) != {True, False}:
            return None
        return string_enum(table)  # type: ignore[arg-type]

    return make


def raw_contact() -> Factory:
    """``contact``: z2m publishes true when closed. Its value_on (``false``) marks the
    "open" state, so a boolean expose is taken as is and an ON/OFF one as ON = open."""

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        if prop.type is not ValueType.BOOLEAN or expose.type != "binary":
            return None
        if isinstance(expose.value_on, bool) and isinstance(expose.value_off, bool):
            return string_enum({True: True, False: False})  # type: ignore[dict-item]
        return binary_to_bool(expose, invert=True)

    return make


def keypad_levels() -> Factory:
    """``unlock``/``lock1``/``lock2`` … (ZCL keypad lockout levels) <-> 0, 1, 2 …"""

    def make(expose: Expose, prop: PropertyDef, known: Collection[str]) -> Converter | None:
        if prop.type not in (ValueType.INTEGER, ValueType.NUMBER):
            return None
        values = (
            list(expose.values or [])
            if expose.type == "enum"
            else [expose.value_on, expose.value_off]
            if expose.type == "binary"
            else []
        )
        table: dict[Any, int] = {}
        for v in values:
            text_ = str(v).strip().lower()
            if text_ == "unlock":
                table[v] = 0
            elif text_ == "lock":
                table[v] = 1
            elif text_.startswith("lock") and text_[4:].isdigit():
                table[v] = int(text_[4:])
            else:
                return None
        if not table or len(set(table.values())) != len(table):
            return None
        return string_enum(table)  # type: ignore[arg-type]

    return make
