"""Capability catalog entries (DHI v1 §4): what a capability *is*, independent of any device.

The YAML files under ``spec/interface/catalog/`` load into these models; the JSON Schema
``capability.schema.json`` is generated from them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CAPABILITY_ID = r"^dhi\.[a-z][a-z0-9_]*$"
VENDOR_CAPABILITY_ID = r"^x\.[a-z0-9][a-z0-9_\-]*\.[a-z0-9][a-z0-9_\-.]*$"
NAME = r"^[a-z][a-z0-9_]*$"


class Access(StrEnum):
    """How a property may be used: read it, write it, be notified of its changes."""

    READ = "read"
    WRITE = "write"
    NOTIFY = "notify"


class ValueType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    ENUM = "enum"
    OBJECT = "object"
    ARRAY = "array"


class Labels(BaseModel):
    """Human-readable text in English and Simplified Chinese."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    en: Annotated[str, Field(min_length=1)]
    zh_cn: Annotated[str, Field(min_length=1, alias="zh-CN")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


_NUMERIC_ONLY: dict[str, Any] = {k: {"type": "null"} for k in ("minimum", "maximum", "step")}


class PropertyDef(_Strict):
    """One typed property of a capability."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": "enum"}}},
                    "then": {"required": ["enum"], "properties": {"enum": {"type": "array"}}},
                    "else": {"properties": {"enum": {"type": "null"}}},
                },
                {
                    "if": {"properties": {"type": {"enum": ["integer", "number"]}}},
                    "else": {"properties": _NUMERIC_ONLY},
                },
            ]
        }
    )

    name: Annotated[str, Field(pattern=NAME)]
    type: ValueType
    label: Labels | None = None
    description: Labels | None = None
    unit: str | None = Field(default=None, description="UCUM symbol from the units table (spec §4.3)")
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = Field(default=None, gt=0)
    enum: list[str] | None = Field(default=None, min_length=1)
    enum_labels: dict[str, Labels] | None = Field(
        default=None,
        description="what each enum value reads as to a person, per value (every value labelled)",
    )
    max_length: int | None = Field(default=None, ge=0)
    access: Annotated[list[Access], Field(min_length=1)]
    nullable: bool = False
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="JSON Schema for object/array values"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PropertyDef:
        if self.type is ValueType.ENUM and not self.enum:
            raise ValueError("an enum property needs a non-empty 'enum' list")
        if self.type is not ValueType.ENUM and self.enum:
            raise ValueError("'enum' is only allowed on enum properties")
        if self.enum_labels is not None and set(self.enum_labels) != set(self.enum or ()):
            raise ValueError("enum_labels must label exactly the values of 'enum'")
        numeric = self.type in (ValueType.INTEGER, ValueType.NUMBER)
        if not numeric and any(v is not None for v in (self.minimum, self.maximum, self.step)):
            raise ValueError("minimum/maximum/step are only allowed on integer/number properties")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if len(set(self.access)) != len(self.access):
            raise ValueError("access flags repeat")
        return self

    @property
    def writable(self) -> bool:
        return Access.WRITE in self.access

    @property
    def readable(self) -> bool:
        return Access.READ in self.access


class CommandDef(_Strict):
    """A command a capability accepts; ``params`` is a JSON Schema (type object)."""

    name: Annotated[str, Field(pattern=NAME)]
    label: Labels | None = None
    description: Labels | None = None
    params: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class EventDef(_Strict):
    """An event a capability emits; ``payload`` is a JSON Schema (type object)."""

    name: Annotated[str, Field(pattern=NAME)]
    label: Labels | None = None
    description: Labels | None = None
    payload: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class MatterMapping(_Strict):
    """Where the capability lives in the Matter data model (ids from the Matter spec)."""

    cluster: Annotated[int, Field(ge=0)]
    cluster_name: str
    attributes: dict[str, int] = Field(default_factory=dict, description="DHI property -> attribute id")
    commands: dict[str, int] = Field(default_factory=dict, description="DHI command -> command id")
    events: dict[str, int] = Field(default_factory=dict, description="DHI event -> event id")
    device_types: list[int] = Field(default_factory=list)
    note: str | None = None


class Zigbee2MqttMapping(_Strict):
    """Zigbee2MQTT expose that carries the capability (``type`` is the expose kind)."""

    expose: str = Field(description="expose property/name, e.g. 'smoke' or 'state'")
    type: str | None = Field(default=None, description="binary, numeric, enum, light, switch, …")
    property: str | None = Field(default=None, description="DHI property it fills")
    note: str | None = None


#: what a Home Assistant row may say about the platform's features (``features``), per domain
HA_FEATURES: dict[str, frozenset[str]] = {
    "light": frozenset({"brightness", "color_temp", "xy", "hs", "effect"}),
    "cover": frozenset({"open_close", "stop", "position", "tilt"}),
    "valve": frozenset({"open_close", "position"}),
    "climate": frozenset(
        {
            "current_temperature",
            "target_temperature",
            "target_temperature_range",
            "modes",
            "action",
            "preset_mode",
            "swing_mode",
            "fan_mode",
        }
    ),
    "fan": frozenset({"percentage", "oscillation", "direction", "preset_mode"}),
    "lock": frozenset({"open"}),
    "siren": frozenset({"duration", "available_tones"}),
    "vacuum": frozenset({"start", "stop", "pause", "return_home", "status"}),
    "update": frozenset({"install", "progress"}),
}

StateClass = Literal["measurement", "total", "total_increasing"]


class HomeAssistantMapping(_Strict):
    """One Home Assistant entity the capability becomes, read both ways: the dhome → HA bridge
    publishes it through MQTT discovery, the HA → dhome adapter maps such an entity back.

    ``domain`` is HA's entity platform, which is also the MQTT discovery component. A row with a
    ``property`` is one entity whose state is that DHI property; a row of a composite platform
    (light, cover, climate, fan, lock, valve, siren, vacuum, update) adds ``features`` to the one
    entity of its component. Rows of a capability naming the same ``property`` (or both none) are
    alternatives: the bridge exports the first that applies, the adapter reads all of them.
    """

    domain: Annotated[str, Field(pattern=NAME)]
    device_class: Annotated[str, Field(pattern=NAME)] | None = None
    property: Annotated[str, Field(pattern=NAME)] | None = Field(
        default=None, description="the DHI property that is the entity's state"
    )
    unit: str | None = Field(
        default=None,
        description="HA unit_of_measurement when it is not the DHI unit's HA form from units.yaml: "
        "a name HA uses for the same unit ('bpm' for /min), or on an import-only row the unit HA "
        "insists on, which the adapter converts (the note says how)",
    )
    state_class: StateClass | None = None
    entity_category: Literal["config", "diagnostic"] | None = None
    on_when: list[bool | str] | None = Field(
        default=None,
        description="binary_sensor: the DHI values that are HA's 'on' (default [true]); e.g. [false] "
        "for a contact (true = closed) exported as a door (on = open)",
    )
    features: list[Annotated[str, Field(pattern=NAME)]] = Field(
        default_factory=list, description="what this capability adds to a composite platform"
    )
    command: Annotated[str, Field(pattern=NAME)] | None = Field(
        default=None, description="button: the DHI command (without parameters) a press sends"
    )
    with_any: list[str] = Field(
        default_factory=list,
        description="exported this way only when the component also has one of these capabilities",
    )
    unless_any: list[str] = Field(
        default_factory=list,
        description="exported this way only when the component has none of these capabilities",
    )
    access: Literal["control", "read_only"] | None = Field(
        default=None,
        description="the form used when HA may control the device (control) or only see it "
        "(read_only); none: either",
    )
    export: bool = Field(default=True, description="false: only read on import (HA → dhome)")
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HomeAssistantMapping:
        allowed = HA_FEATURES.get(self.domain, frozenset())
        unknown = sorted(set(self.features) - allowed)
        if unknown:
            raise ValueError(f"features {unknown} are not features of HA {self.domain!r}")
        if self.state_class is not None and self.domain != "sensor":
            raise ValueError("state_class is only for sensor rows")
        if self.on_when is not None and self.domain != "binary_sensor":
            raise ValueError("on_when is only for binary_sensor rows")
        if (self.command is not None) != (self.domain == "button"):
            raise ValueError("a button row names its command, and only a button row does")
        return self


class MiotMapping(_Strict):
    """MIoT-Spec-V2 service/property names (urn:miot-spec-v2:…)."""

    service: str
    property: str | None = None
    event: str | None = None
    action: str | None = None
    note: str | None = None


class Mappings(_Strict):
    matter: list[MatterMapping] = Field(default_factory=list)
    zigbee2mqtt: list[Zigbee2MqttMapping] = Field(default_factory=list)
    home_assistant: list[HomeAssistantMapping] = Field(default_factory=list)
    home_assistant_none: Labels | None = Field(
        default=None,
        description="why no Home Assistant entity carries this capability (coverage report)",
    )
    miot: list[MiotMapping] = Field(default_factory=list)


Category = Literal[
    "lighting",
    "energy",
    "climate",
    "air_quality",
    "safety",
    "security",
    "covering",
    "metering",
    "control",
    "device",
    "care",
    "appliance",
    "media",
    "vendor",
]


class CapabilityDef(_Strict):
    """A catalog entry: one capability of DHI v1."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [k], "properties": {k: {"minItems": 1}}}
                for k in ("properties", "commands", "events")
            ]
        }
    )

    id: str = Field(pattern=f"{CAPABILITY_ID}|{VENDOR_CAPABILITY_ID}")
    version: Annotated[int, Field(ge=1)] = 1
    category: Category
    label: Labels
    description: Labels
    properties: list[PropertyDef] = Field(default_factory=list)
    commands: list[CommandDef] = Field(default_factory=list)
    events: list[EventDef] = Field(default_factory=list)
    mappings: Mappings = Field(default_factory=Mappings)

    @model_validator(mode="after")
    def _unique_names(self) -> CapabilityDef:
        for kind, items in (
            ("property", self.properties),
            ("command", self.commands),
            ("event", self.events),
        ):
            names = [i.name for i in items]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"duplicate {kind} name(s): {sorted(dupes)}")
        if not (self.properties or self.commands or self.events):
            raise ValueError("a capability needs at least one property, command or event")
        for row in self.mappings.home_assistant:
            if row.property is not None and self.property(row.property) is None:
                raise ValueError(f"home_assistant row {row.domain}: no property {row.property!r}")
            if row.command is not None and self.command(row.command) is None:
                raise ValueError(f"home_assistant row {row.domain}: no command {row.command!r}")
        exported = any(row.export for row in self.mappings.home_assistant)
        if exported and self.mappings.home_assistant_none is not None:
            raise ValueError("home_assistant_none says no entity fits, yet a home_assistant row exports one")
        return self

    def property(self, name: str) -> PropertyDef | None:
        return next((p for p in self.properties if p.name == name), None)

    def command(self, name: str) -> CommandDef | None:
        return next((c for c in self.commands if c.name == name), None)

    def event(self, name: str) -> EventDef | None:
        return next((e for e in self.events if e.name == name), None)


class UnitDef(_Strict):
    """One allowed unit: UCUM case-sensitive symbol and what it measures."""

    symbol: str
    label: Labels
    quantity: str
    home_assistant: str | None = Field(
        default=None,
        description="Home Assistant's unit_of_measurement string for this unit (none: HA has none)",
    )


class CatalogFile(_Strict):
    """The shape of one ``catalog/*.yaml`` file."""

    capabilities: list[CapabilityDef]
