"""Typed, tolerant parsing of Zigbee2MQTT ``bridge/devices`` entries and their exposes.

The expose format is Zigbee2MQTT's (see its "exposes" documentation and
zigbee-herdsman-converters ``lib/exposes``): generic kinds ``binary``, ``numeric``,
``enum``, ``text``, ``composite`` and ``list``, and the specific kinds ``light``,
``switch``, ``fan``, ``cover``, ``lock`` and ``climate`` that group generic features.

Parsing is tolerant on purpose: unknown keys are kept (``extra="allow"``), and a broken
expose never takes its siblings or its device down — ``parse_exposes`` returns the
problems next to the good exposes so the mapping can report them as unmapped.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Specific exposes: a group of generic features describing one function of the device.
SPECIFIC_TYPES = frozenset({"light", "switch", "fan", "cover", "lock", "climate"})
#: Generic exposes that carry one value.
LEAF_TYPES = frozenset({"binary", "numeric", "enum", "text"})
GENERIC_TYPES = LEAF_TYPES | {"composite", "list"}


class AccessBit(IntFlag):
    """Zigbee2MQTT ``access``: 1 = in the published state, 2 = settable with ``/set``,
    4 = retrievable with ``/get``."""

    STATE = 1
    SET = 2
    GET = 4


class Preset(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    value: Any = None
    description: str | None = None


Scalar = str | int | float | bool


class Expose(BaseModel):
    """One expose, generic or specific. Only the fields the mapping reads are typed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str = Field(min_length=1)
    name: str | None = None
    label: str | None = None
    #: ``property`` on the wire (renamed: the builtin is needed in this class body)
    prop: str | None = Field(default=None, alias="property")
    access: int = Field(default=0, ge=0)
    description: str | None = None
    category: str | None = None
    endpoint: str | None = None
    # numeric
    unit: str | None = None
    value_min: float | None = None
    value_max: float | None = None
    value_step: float | None = None
    presets: list[Preset] | None = None
    # binary
    value_on: Scalar | None = None
    value_off: Scalar | None = None
    value_toggle: Scalar | None = None
    # enum
    values: list[Scalar] | None = None
    # composite / specific: kept raw and parsed one by one (``parse_exposes``), so a broken
    # feature is reported on its own instead of rejecting its whole group
    features: list[Any] | None = None
    # list
    item_type: Any = None
    length_min: int | None = None
    length_max: int | None = None

    @field_validator("access", mode="before")
    @classmethod
    def _access_int(cls, v: Any) -> Any:
        # A missing access (null) on specific exposes means "no access of its own".
        return 0 if v is None else v

    @property
    def key(self) -> str:
        """The state key: ``property`` (it carries the endpoint suffix), else ``name``."""
        return self.prop or self.name or ""

    @property
    def base_name(self) -> str:
        """The name without endpoint: ``name`` (``property`` is ``<name>_<endpoint>``)."""
        return self.name or self.prop or self.type

    @property
    def is_specific(self) -> bool:
        return self.type in SPECIFIC_TYPES

    @property
    def published(self) -> bool:
        return bool(self.access & AccessBit.STATE)

    @property
    def settable(self) -> bool:
        return bool(self.access & AccessBit.SET)

    @property
    def gettable(self) -> bool:
        return bool(self.access & AccessBit.GET)


class Definition(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    vendor: str | None = None
    description: str | None = None
    supports_ota: bool | None = None
    #: kept raw so that one broken expose cannot reject the whole device
    exposes: list[Any] = Field(default_factory=list)


class BridgeDevice(BaseModel):
    """One element of the retained ``<base>/bridge/devices`` array."""

    model_config = ConfigDict(extra="allow")

    ieee_address: str = Field(min_length=1)
    friendly_name: str = Field(min_length=1)
    type: str | None = None
    network_address: int | None = None
    supported: bool | None = None
    disabled: bool = False
    interview_completed: bool | None = None
    interviewing: bool | None = None
    interview_state: str | None = None
    manufacturer: str | None = None
    model_id: str | None = None
    software_build_id: str | None = None
    date_code: str | None = None
    power_source: str | None = None
    definition: Definition | None = None

    @property
    def is_coordinator(self) -> bool:
        return self.type == "Coordinator"

    @property
    def ready(self) -> bool:
        """Interviewed and described: only then is there anything to map."""
        return self.definition is not None and not self.interviewing


class ExposeProblem(BaseModel):
    """An expose that could not be parsed: where it was and why."""

    feature: str
    reason: str


def _label(raw: Any, index: int) -> str:
    if isinstance(raw, dict):
        for key in ("property", "name", "type"):
            value = raw.get(key)
            if isinstance(value, str) and value:
                return value
    return f"exposes[{index}]"


def parse_exposes(raw: list[Any]) -> tuple[list[Expose], list[ExposeProblem]]:
    """Parse each expose on its own; the broken ones come back as problems."""
    good: list[Expose] = []
    bad: list[ExposeProblem] = []
    for i, item in enumerate(raw):
        try:
            good.append(Expose.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "expose"
            bad.append(
                ExposeProblem(feature=_label(item, i), reason=f"malformed expose: {where}: {first['msg']}")
            )
    return good, bad


def parse_devices(payload: Any) -> tuple[list[BridgeDevice], list[str]]:
    """Parse a ``bridge/devices`` array: valid entries, plus one message per invalid entry."""
    if not isinstance(payload, list):
        return [], [f"bridge/devices must be a JSON array, got {type(payload).__name__}"]
    devices: list[BridgeDevice] = []
    errors: list[str] = []
    for i, item in enumerate(payload):
        try:
            devices.append(BridgeDevice.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(f"bridge/devices[{i}]: {where}: {first['msg']}")
    return devices, errors
