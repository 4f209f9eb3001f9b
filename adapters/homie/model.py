"""A Homie 5 device as DHI: ``$description`` parsing, property mapping, value codecs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.homie.mapping import CHANNELS, DATATYPES, NOT_MEASURED, SEMANTICS, UNIT_BY_HOMIE, SemanticRow
from adapters.sdk import Converter, bool_map, identity, linear
from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt import PayloadError
from adapters.sdk.mqtt.describe import DescriptionBuilder, Features, vendor_property
from dhi.models import DeviceDescription
from dhi.models.catalog import ValueType

HOMIE_ID = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
Datatype = Literal["integer", "float", "boolean", "string", "enum", "color", "datetime", "duration", "json"]
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_COLOR = re.compile(r"^(rgb|hsv),\d+,\d+,\d+$|^xyz,[0-9.]+,[0-9.]+$")
#: v5: an empty string value is sent as a single NUL byte (an empty payload deletes a topic)
EMPTY_STRING = b"\x00"


class HomieProperty(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    datatype: Datatype
    format: str | None = None
    settable: bool = False
    retained: bool = True
    unit: str | None = None


class HomieNode(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    type: str | None = None
    properties: dict[Annotated[str, Field(pattern=HOMIE_ID)], HomieProperty] = Field(default_factory=dict)


class HomieDescription(BaseModel):
    """``homie/5/<device>/$description`` (children/root/parent/extensions are accepted, unused)."""

    model_config = ConfigDict(extra="allow")

    homie: Annotated[str, Field(pattern=r"^5\.\d+$")]
    #: required by the convention; some devices publish null: read anyway, with a warning
    version: int | None
    name: str | None = None
    type: str | None = None
    nodes: dict[Annotated[str, Field(pattern=HOMIE_ID)], HomieNode] = Field(default_factory=dict)


def parse_description(data: Any) -> HomieDescription:
    if not isinstance(data, dict):
        raise PayloadError(f"$description must be a JSON object, got {type(data).__name__}")
    try:
        return HomieDescription.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        raise PayloadError(f"$description: {loc}: {err['msg']}") from None


@dataclass(frozen=True)
class Format:
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    values: tuple[str, ...] = ()


def parse_format(datatype: str, fmt: str | None) -> Format:
    """``min:max[:step]`` for numbers (either side may be empty), ``a,b,c`` for enums
    (``,,`` escapes a comma)."""
    if not fmt:
        return Format()
    if datatype in ("integer", "float"):
        parts = fmt.split(":")
        if len(parts) not in (2, 3):
            raise PayloadError(f"format {fmt!r}: expected 'min:max[:step]'")
        nums = [_number(p, fmt) if p else None for p in parts]
        lo, hi = nums[0], nums[1]
        if lo is not None and hi is not None and lo > hi:
            raise PayloadError(f"format {fmt!r}: min is greater than max")
        step = nums[2] if len(nums) == 3 else None
        if step is not None and step <= 0:
            raise PayloadError(f"format {fmt!r}: step must be positive")
        return Format(lo, hi, step)
    if datatype == "enum":
        values = tuple(v.replace("\x01", ",") for v in fmt.replace(",,", "\x01").split(","))
        if not all(values):
            raise PayloadError(f"format {fmt!r}: empty enum value")
        return Format(values=values)
    return Format()


def _number(text: str, fmt: str) -> float:
    if not _FLOAT.match(text):
        raise PayloadError(f"format {fmt!r}: {text!r} is not a number")
    return float(text)


@dataclass(frozen=True)
class PropMap:
    """One Homie property as one DHI property."""

    node: str
    prop: str
    component: str
    capability: str
    property: str
    datatype: str
    format: Format
    convert: Converter
    settable: bool
    retained: bool


@dataclass
class HomieDevice:
    native: str
    version: int | None
    description: DeviceDescription
    props: dict[tuple[str, str], PropMap]
    features: Features = field(default_factory=Features)
    warnings: list[str] = field(default_factory=list)

    def find(self, component: str, capability: str, prop: str) -> PropMap | None:
        return next(
            (
                p
                for p in self.props.values()
                if (p.component, p.capability, p.property) == (component, capability, prop)
            ),
            None,
        )


def dhi_name(homie_id: str) -> str:
    """``target-temperature`` -> ``target_temperature``; ids starting with a digit get ``n``."""
    name = homie_id.replace("-", "_")
    return name if name[:1].isalpha() else f"n{name}"


_CHANNELS = [(re.compile(pattern), template) for pattern, template in CHANNELS]
_WORD = re.compile(r"[a-z0-9]+")


def split_channel(prop_id: str) -> tuple[str, str | None]:
    """``current-a`` -> (``current``, ``phase_a``); ``power`` -> (``power``, None)."""
    for pattern, template in _CHANNELS:
        m = pattern.search(prop_id)
        if m is not None and m.start() > 0:
            return prop_id[: m.start()], template.format(n=m["n"])
    return prop_id, None


def _two_states(p: HomieProperty, states: tuple[str, str]) -> tuple[str, str] | None:
    """The enum's own spelling of (true, false) when its format is exactly those two values."""
    try:
        values = parse_format(p.datatype, p.format).values
    except PayloadError:
        return None
    spelled = {v.upper(): v for v in values}
    if len(values) != 2 or set(spelled) != {s.upper() for s in states}:
        return None
    return spelled[states[0].upper()], spelled[states[1].upper()]


def _match(p: HomieProperty, prop_id: str) -> SemanticRow | None:
    stem, _ = split_channel(prop_id)
    words = set(_WORD.findall(f"{prop_id} {p.name or ''}".lower()))
    for row in SEMANTICS:
        if p.datatype not in row.datatypes or p.unit not in row.units:
            continue
        if row.states is not None and _two_states(p, row.states) is None:
            continue
        if row.ids and prop_id not in row.ids and stem not in row.ids:
            continue
        if row.words and not words.intersection(row.words):
            continue
        if row.settable is not None and row.settable != p.settable:
            continue
        if row.measurement and (p.settable or words & NOT_MEASURED):
            continue
        return row
    return None


def _placements(node_id: str, node: HomieNode) -> dict[str, str]:
    """Property id -> DHI component: the node's, a channel's (``meter_phase_a``), or, when
    several properties of the node mean the same DHI property (power flows ``pv``, ``grid``,
    ``battery``), one component per property — never one property for two values."""
    comp = dhi_name(node_id)
    placed: dict[str, str] = {}
    wanted: dict[tuple[str, str, str], list[str]] = {}
    for prop_id, p in node.properties.items():
        row = _match(p, prop_id)
        channel = split_channel(prop_id)[1]
        placed[prop_id] = f"{comp}_{channel}" if row is not None and channel else comp
        if row is not None:
            wanted.setdefault((placed[prop_id], row.capability, row.property), []).append(prop_id)
    for ids in wanted.values():
        if len(ids) > 1:
            for prop_id in ids:
                placed[prop_id] = f"{comp}_{dhi_name(prop_id)}"
    return placed


def describe(native: str, desc: HomieDescription, instance: str) -> HomieDevice:
    builder = DescriptionBuilder()
    features = Features()
    props: dict[tuple[str, str], PropMap] = {}
    warnings = [] if desc.version is not None else ["$description version is null; read anyway"]
    for node_id, node in desc.nodes.items():
        node_comp = dhi_name(node_id)
        builder.component(node_comp, node.name)
        placements = _placements(node_id, node)
        for prop_id, p in node.properties.items():
            feature = f"{node_id}/{prop_id}"
            try:
                fmt = parse_format(p.datatype, p.format)
            except PayloadError as exc:
                features.drop(feature, str(exc))
                continue
            unit = UNIT_BY_HOMIE.get(p.unit) if p.unit is not None else None
            row = _match(p, prop_id)
            if row is not None:
                convert = unit.convert if unit is not None else identity
                if (
                    row.scale_to_percent
                    and p.unit != "%"
                    and fmt.minimum is not None
                    and fmt.maximum is not None
                ):
                    convert = linear((fmt.minimum, fmt.maximum), (0, 100))
                elif row.scale_to_percent and p.unit is None:
                    features.drop(feature, "a level without unit '%' needs a 'min:max' format")
                    continue
                if row.states is not None:
                    true, false = _two_states(p, row.states) or row.states
                    convert = bool_map(true, false)
                commands = _commands(row.capability, p.settable)
                comp = features.bind(feature, placements[prop_id], row.capability, row.property)
                builder.component(comp, _label(node, p, comp != node_comp))
                builder.add(comp, row.capability, row.property, commands=commands)
                props[(node_id, prop_id)] = PropMap(
                    node_id,
                    prop_id,
                    comp,
                    row.capability,
                    row.property,
                    p.datatype,
                    fmt,
                    convert,
                    p.settable,
                    p.retained,
                )
                continue
            # no catalog meaning: a typed vendor property that keeps type, unit, range and access
            vtype = ValueType(DATATYPES[p.datatype])
            convert = unit.convert if unit is not None else identity
            lo, hi = fmt.minimum, fmt.maximum
            if unit is not None and vtype in (ValueType.INTEGER, ValueType.NUMBER):
                lo = convert(lo) if lo is not None else None
                hi = convert(hi) if hi is not None else None
                if unit.convert is not identity:
                    vtype = ValueType.NUMBER  # a converted integer need not stay whole
            label = p.name or prop_id
            if p.unit and unit is None:
                label = f"{label} ({p.unit})"  # a unit outside units.yaml is named, not claimed
            cap = f"x.homie.{node_id}"
            name = dhi_name(prop_id)
            comp = features.bind(feature, node_comp, cap, name)
            builder.add_vendor(
                comp,
                cap,
                vendor_property(
                    name,
                    vtype,
                    unit=unit.ucum if unit else None,
                    minimum=lo,
                    maximum=hi,
                    enum=list(fmt.values) if vtype is ValueType.ENUM else None,
                    writable=p.settable,
                    label=label,
                ),
            )
            props[(node_id, prop_id)] = PropMap(
                node_id, prop_id, comp, cap, name, p.datatype, fmt, convert, p.settable, p.retained
            )
    components = builder.build()
    if not components:
        raise PayloadError("$description has no properties: nothing to map")
    description = DeviceDescription(
        id=f"{instance}:{native}",
        name=(desc.name or native)[:200],
        adapter=instance,
        components=components,
    )
    return HomieDevice(native, desc.version, description, props, features, warnings)


def _label(node: HomieNode, p: HomieProperty, own: bool) -> str | None:
    """A component of its own is named after its property (``Grid``), else after the node."""
    if not own:
        return node.name
    return " ".join(x for x in (node.name, p.name) if x) or None


def _commands(capability: str, settable: bool) -> list[str]:
    if not settable:
        return []
    return {"dhi.on_off": ["on", "off", "toggle"], "dhi.level": ["set_level"]}.get(capability, [])


# ---------------------------------------------------------------- values


def decode_value(pm: PropMap, payload: bytes) -> Any:
    """A property payload -> the DHI value (``PayloadError`` with the reason)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"value is not UTF-8 (byte {exc.start})") from None
    if payload == EMPTY_STRING:
        text = ""
    value: Any
    dt = pm.datatype
    if dt == "boolean":
        if text not in ("true", "false"):
            raise PayloadError(f"boolean value must be 'true' or 'false', got {text[:40]!r}")
        value = text == "true"
    elif dt == "integer":
        if not _INT.match(text):
            raise PayloadError(f"integer value expected, got {text[:40]!r}")
        value = int(text)
    elif dt == "float":
        if not _FLOAT.match(text):
            raise PayloadError(f"float value expected, got {text[:40]!r}")
        value = float(text)
        if not math.isfinite(value):
            raise PayloadError("float value must be finite")
    elif dt == "enum":
        if pm.format.values and text not in pm.format.values:
            raise PayloadError(f"enum value {text[:40]!r} is not one of {', '.join(pm.format.values)}")
        value = text
    elif dt == "color":
        if not _COLOR.match(text):
            raise PayloadError(
                f"color value must be 'rgb,r,g,b', 'hsv,h,s,v' or 'xyz,x,y', got {text[:40]!r}"
            )
        value = text
    elif dt == "json":
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"json value is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise PayloadError(f"json value must be an object, got {type(value).__name__}")
    else:
        value = text
    try:
        return pm.convert(value)
    except ConversionError as exc:
        raise PayloadError(str(exc)) from None


def encode_value(pm: PropMap, value: Any) -> bytes:
    """A DHI value -> the payload for ``…/<property>/set``."""
    try:
        raw = pm.convert.back(value) if pm.convert is not identity else value
    except ConversionError as exc:
        raise PayloadError(str(exc)) from None
    if pm.datatype == "boolean":
        return b"true" if raw else b"false"
    if pm.datatype == "integer":
        return str(round(raw)).encode()
    if pm.datatype == "float":
        return repr(float(raw)).encode()
    if pm.datatype == "json":
        return orjson.dumps(raw)
    text = str(raw)
    return text.encode() if text else EMPTY_STRING
