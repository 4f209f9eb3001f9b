"""Nothing dropped: every attribute no row maps becomes a typed vendor property.

For each application cluster on an endpoint, the attributes that no bound row reads are
collected into one vendor capability ``x.matter.<cluster>`` on that endpoint's component
(decision 3: the Zigbee2MQTT adapter keeps unknown exposes the same way). The property's
type comes from the Matter data model (``datamodel.json``, generated from the CHIP SDK's
cluster objects and python-matter-server's custom vendor clusters by
``tools/matter-datamodel``); for an attribute the data model does not describe, from the
value the server reported. A property is read-only unless the attribute is known to be
writable (:data:`WRITABLE`); enums keep the data model's member names.

Commands and events go the same way: a command the endpoint's AcceptedCommandList names and
no bound row sends becomes a vendor command of that capability (one parameter per Matter
field, typed from the data model; it is sent as that cluster command), and an event of the
data model no bound row translates becomes a vendor event whose payload holds the event's
fields, typed the same way.

What cannot be represented stays *unmapped*, with the reason: a null value of an attribute
whose type nobody knows (a type cannot be guessed from ``null``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from adapters.matter import clusters as cl
from adapters.matter import convert as cv
from adapters.matter.node import Endpoint
from adapters.matter.schema import MISSING as MISSING_ARG
from adapters.matter.schema import OMIT, WRITE, Arg, Cmd, Evt, Prop, Row
from adapters.sdk.convert import ConversionError, Converter
from dhi.models.catalog import Access, CapabilityDef, CommandDef, EventDef, Labels, PropertyDef, ValueType

DATAMODEL: Final = Path(__file__).with_name("datamodel.json")

#: attributes the Matter specification marks writable (access "RW"/"W") that no row maps
#: already, so their vendor property accepts ``set``; everything else is read-only
WRITABLE: Final[dict[int, frozenset[int]]] = {
    0x0006: frozenset({0x4001, 0x4002}),  # OnOff: OnTime, OffWaitTime
    0x0008: frozenset({0x000F}),  # LevelControl: Options
    0x0050: frozenset({0x0004, 0x0005}),  # ModeSelect: StartUpMode, OnMode
    **{
        mode: frozenset({0x0002, 0x0003})  # derived mode clusters: StartUpMode, OnMode
        for mode in (0x0049, 0x0051, 0x0052, 0x0054, 0x0055, 0x0059, 0x009D, 0x009E, 0x009F)
    },
    0x004A: frozenset({0x0001}),  # LaundryDryerControls: SelectedDrynessLevel
    0x0053: frozenset({0x0001, 0x0002}),  # LaundryWasherControls: SpinSpeedCurrent, NumberOfRinses
    0x0080: frozenset({0x0000}),  # BooleanStateConfiguration: CurrentSensitivityLevel
    # DoorLock: Language, LEDSettings, EnableLocalProgramming, EnableOneTouchLocking,
    # EnableInsideStatusLED, EnablePrivacyModeButton, WrongCodeEntryLimit,
    # UserCodeTemporaryDisableTime, SendPINOverTheAir, RequirePINforRemoteOperation
    0x0101: frozenset({0x0021, 0x0022, 0x0028, 0x0029, 0x002A, 0x002B, 0x0030, 0x0031, 0x0032, 0x0033}),
    # Pump: LifetimeRunningHours, LifetimeEnergyConsumed, OperationMode, ControlMode
    0x0200: frozenset({0x0015, 0x0017, 0x0020, 0x0021}),
    # Thermostat: RemoteSensing, ThermostatProgrammingOperationMode, EmergencyHeatDelta
    0x0201: frozenset({0x001A, 0x0025, 0x0034}),
    0x0202: frozenset({0x0008, 0x000A, 0x000B}),  # FanControl: Rock-, WindSetting, AirflowDirection
    0x0204: frozenset({0x0002}),  # ThermostatUserInterfaceConfiguration: ScheduleProgrammingVisibility
    0x0300: frozenset({0x000F, 0x4010}),  # ColorControl: Options, StartUpColorTemperatureMireds
    0x0406: frozenset({0x0010, 0x0011, 0x0012, 0x0020, 0x0021, 0x0022, 0x0030, 0x0031, 0x0032}),
    0x0556: frozenset({0x0001, 0x0002}),  # Chime: SelectedChime, Enabled
}

#: units of well-known vendor attributes (what Home Assistant shows for them)
VENDOR_UNITS: Final[dict[tuple[int, int], str]] = {
    (0x130AFC01, 0x130A0008): "V",  # Eve Voltage
    (0x130AFC01, 0x130A0009): "A",  # Eve Current
    (0x130AFC01, 0x130A000A): "W",  # Eve Watt
    (0x130AFC01, 0x130A000B): "kW.h",  # Eve WattAccumulated
    (0x130AFC01, 0x130A0014): "hPa",  # Eve Pressure
    (0x130AFC01, 0x130A0013): "m",  # Eve Altitude
    (0x130AFC01, 0x130A0018): "%",  # Eve ValvePosition
}


@dataclass(frozen=True)
class AttributeModel:
    name: str
    type: ValueType
    nullable: bool
    members: Mapping[int, str] | None = None


@dataclass(frozen=True)
class FieldModel:
    """One field of a command or event: its Matter label and type."""

    label: str
    type: ValueType
    nullable: bool
    optional: bool
    members: Mapping[int, str] | None = None


@dataclass(frozen=True)
class CommandModel:
    name: str
    fields: tuple[FieldModel, ...]
    timed: bool = False


@dataclass(frozen=True)
class ClusterModel:
    name: str
    attributes: Mapping[int, AttributeModel]
    commands: Mapping[int, CommandModel]
    events: Mapping[int, CommandModel]


def _value_type(kind: str, table: Mapping[int, str] | None) -> ValueType:
    return ValueType(kind) if table or kind != "enum" else ValueType.INTEGER


def _fields(raw: list[list[Any]]) -> tuple[FieldModel, ...]:
    out = []
    for label, kind, nullable, optional, *members in raw:
        table = {int(k): v for k, v in members[0].items()} if members else None
        out.append(FieldModel(label, _value_type(kind, table), bool(nullable), bool(optional), table))
    return tuple(out)


@cache
def datamodel() -> dict[int, ClusterModel]:
    raw = json.loads(DATAMODEL.read_text(encoding="utf-8"))
    out = {}
    for cid, cluster in raw.items():
        attrs = {}
        for aid, entry in cluster["attributes"].items():
            name, kind, nullable, *members = entry
            table = {int(k): v for k, v in members[0].items()} if members else None
            attrs[int(aid)] = AttributeModel(name, _value_type(kind, table), bool(nullable), table)
        commands = {
            int(c): CommandModel(name, _fields(fields), bool(timed))
            for c, (name, fields, timed) in cluster.get("commands", {}).items()
        }
        events = {
            int(e): CommandModel(name, _fields(fields))
            for e, (name, fields) in cluster.get("events", {}).items()
        }
        out[int(cid)] = ClusterModel(cluster["name"], attrs, commands, events)
    return out


def snake(name: str) -> str:
    """``AirflowDirection`` -> ``airflow_direction``; a valid DHI name whatever comes in."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    out = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return out if out and out[0].isalpha() else f"a_{out}"


def capability_id(cluster: int) -> str:
    model = datamodel().get(cluster)
    if model is not None and not model.name.startswith("0x"):
        return f"x.matter.{snake(model.name.removesuffix('Cluster') or model.name)}"
    if cluster in cl.CLUSTER_NAMES:
        return f"x.matter.{snake(cl.CLUSTER_NAMES[cluster])}"
    return f"x.matter.cluster_{cluster:x}"


def _infer(value: Any) -> ValueType | None:
    """The DHI type of a value the data model does not describe (``None``: cannot tell)."""
    for kind, vtype in (
        (bool, ValueType.BOOLEAN),
        (int, ValueType.INTEGER),
        (float, ValueType.NUMBER),
        (str, ValueType.STRING),
        (list, ValueType.ARRAY),
        (dict, ValueType.OBJECT),
    ):
        if isinstance(value, kind):
            return vtype
    return None


def _passthrough(kind: type | tuple[type, ...], what: str) -> Converter:
    def check(v: Any) -> Any:
        if isinstance(v, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConversionError(f"expected {what}, got bool")
        if not isinstance(v, kind):
            raise ConversionError(f"expected {what}, got {type(v).__name__}")
        return v

    return cv.nullable(Converter(check, check, what))


_CONVERTERS: Final[dict[ValueType, Converter]] = {
    ValueType.BOOLEAN: cv.BOOL,
    ValueType.INTEGER: cv.nullable(Converter(lambda v: cv.check_int(v, -(2**63), 2**64), cv.INT.back, "int")),
    ValueType.NUMBER: cv.nullable(Converter(cv.check_number, cv.check_number, "number")),
    ValueType.STRING: _passthrough(str, "a string"),
    ValueType.ARRAY: _passthrough(list, "a list"),
    ValueType.OBJECT: _passthrough(dict, "a struct object"),
}


def _property(cluster: int, attribute: int, value: Any) -> tuple[PropertyDef, Prop] | str:
    """The vendor property of one attribute, or why it cannot be represented."""
    model = datamodel().get(cluster)
    attr = model.attributes.get(attribute) if model is not None else None
    if attr is not None:
        vtype, nullable, members, title = attr.type, attr.nullable, attr.members, attr.name
    else:
        inferred = _infer(value)
        if inferred is None:
            return "the value is null and the Matter data model does not describe this attribute"
        vtype, nullable, members = inferred, False, None
        known = cl.ATTRIBUTE_NAMES.get(cluster, {}).get(attribute)
        title = known or f"attribute_{attribute:x}"
    name = snake(title)
    writable = attribute in WRITABLE.get(cluster, frozenset())
    access = [Access.READ, Access.WRITE, Access.NOTIFY] if writable else [Access.READ, Access.NOTIFY]
    if vtype is ValueType.ENUM and members:
        conv = cv.enum(members, name=name)
        pdef = PropertyDef(
            name=name,
            type=vtype,
            enum=list(dict.fromkeys(members.values())),
            access=access,
            nullable=nullable,
        )
    else:
        conv = _CONVERTERS[vtype]
        pdef = PropertyDef(
            name=name,
            type=vtype,
            access=access,
            nullable=nullable,
            unit=VENDOR_UNITS.get((cluster, attribute)),
        )
    return pdef, Prop(attribute, name, conv, WRITE if writable else None)


def _field_converter(f: FieldModel) -> Converter:
    return (
        cv.enum(f.members, name=snake(f.label))
        if f.type is ValueType.ENUM and f.members
        else _CONVERTERS[f.type]
    )


def _field_schema(f: FieldModel) -> dict[str, Any]:
    """The JSON schema of one DHI parameter or payload field."""
    if f.type is ValueType.ENUM and f.members:
        schema: dict[str, Any] = {"type": "string", "enum": list(dict.fromkeys(f.members.values()))}
    else:
        schema = {"type": {ValueType.NUMBER: "number", ValueType.ENUM: "integer"}.get(f.type, f.type.value)}
    if f.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _object_schema(fields: Iterable[FieldModel], required: bool) -> dict[str, Any]:
    fields = list(fields)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {snake(f.label): _field_schema(f) for f in fields},
        "additionalProperties": False,
    }
    needed = [snake(f.label) for f in fields if required and not f.optional]
    if needed:
        schema["required"] = needed
    return schema


def vendor_command(cluster: int, command: int) -> tuple[CommandDef, Cmd] | None:
    """The vendor command of a Matter cluster command the data model describes (else ``None``)."""
    model = datamodel().get(cluster)
    spec = model.commands.get(command) if model is not None else None
    if spec is None:
        return None
    name = snake(spec.name)
    args = tuple(
        Arg(f.label, snake(f.label), _field_converter(f), OMIT if f.optional else MISSING_ARG)
        for f in spec.fields
    )
    definition = CommandDef(
        name=name,
        label=Labels(en=spec.name, zh_cn=f"Matter 命令 {spec.name}"),
        params=_object_schema(spec.fields, required=True),
    )
    return definition, Cmd(name, spec.name, command, args, timed_ms=10_000 if spec.timed else None)


def vendor_event(cluster: int, event: int) -> tuple[EventDef, Evt] | None:
    """The vendor event of a Matter event the data model describes (else ``None``): its
    payload is the event's fields (snake_case), each converted as a property would be; a
    field of the wrong type is left out rather than dropping the event."""
    model = datamodel().get(cluster)
    spec = model.events.get(event) if model is not None else None
    if spec is None:
        return None
    name = snake(spec.name)
    converters = [(f.label, snake(f.label), _field_converter(f)) for f in spec.fields]

    def translate(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        out = {}
        for label, key, conv in converters:
            if label in data:
                try:
                    out[key] = conv.to_hub(data[label])
                except (ConversionError, TypeError, ValueError):
                    continue
        return name, out

    definition = EventDef(
        name=name,
        label=Labels(en=spec.name, zh_cn=f"Matter 事件 {spec.name}"),
        payload=_object_schema(spec.fields, required=False),
    )
    return definition, Evt(event, (name,), translate)


def vendor_row(
    ep: Endpoint,
    cluster: int,
    attributes: Iterable[int],
    commands: Iterable[int] = (),
    events: Iterable[int] = (),
) -> tuple[Row | None, dict[int, str]]:
    """One vendor row for ``attributes``, ``commands`` and ``events`` of ``cluster`` on
    ``ep``, plus attribute -> reason for each attribute that cannot be represented
    (a command or event the data model does not describe is left out: its fields are unknown)."""
    props: list[Prop] = []
    pdefs: list[PropertyDef] = []
    problems: dict[int, str] = {}
    values = ep.clusters.get(cluster, {})
    for attribute in sorted(attributes):
        made = _property(cluster, attribute, values.get(attribute))
        if isinstance(made, str):
            problems[attribute] = made
            continue
        pdef, prop = made
        if any(p.name == pdef.name for p in pdefs):  # two attributes, one generated name
            pdef = pdef.model_copy(update={"name": f"{pdef.name}_{attribute:x}"})
            prop = Prop(prop.attribute, pdef.name, prop.convert, prop.set)
        pdefs.append(pdef)
        props.append(prop)
    made_cmds = [c for c in (vendor_command(cluster, i) for i in sorted(commands)) if c is not None]
    made_evts = [e for e in (vendor_event(cluster, i) for i in sorted(events)) if e is not None]
    if not (props or made_cmds or made_evts):
        return None, problems
    cap = capability_id(cluster)
    name = cl.cluster_name(cluster)
    definition = CapabilityDef(
        id=cap,
        category="vendor",
        label=Labels(en=f"Matter {name}", zh_cn=f"Matter {name} 集群"),
        description=Labels(
            en=f"Attributes, commands and events of the Matter cluster {cl.describe_cluster(cluster)} "
            "that no DHI capability carries, typed from the Matter data model.",
            zh_cn=f"Matter 集群 {cl.describe_cluster(cluster)} 中没有 DHI 标准能力承载的属性、命令和事件，"  # noqa: RUF001
            "类型取自 Matter 数据模型。",
        ),
        properties=pdefs,
        commands=[d for d, _ in made_cmds],
        events=[d for d, _ in made_evts],
    )
    row = Row(
        cap,
        cluster,
        props=tuple(props),
        commands=tuple(c for _, c in made_cmds),
        events=tuple(e for _, e in made_evts),
        required=(),
        definition=definition,
        note="vendor fallback",
    )
    return row, problems
