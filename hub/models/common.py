"""Types shared by every DHI v1 model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DHI_VERSION = "1.1"
#: Base of every ``$id`` in ``spec/interface/schemas``.
SCHEMA_BASE = "https://dhome.dev/dhi/v1/schemas/"

# explicit class, not \s: Python, pydantic (Rust) and ECMA-262 regexes disagree on what \s means
DEVICE_ID = r"^[a-z][a-z0-9_\-]*:[^ \t\n\r\f\v/#+]+$"
COMPONENT_ID = r"^[a-z][a-z0-9_]*$"
#: administrative-division code (GB/T 2260: 6 digits; 9 or 12 with township/village)
DIVISION_CODE = r"^\d{6}(\d{3}|\d{6})?$"
HOME_ID = r"^[a-z0-9][a-z0-9_\-]*$"

DeviceId = Annotated[
    str, Field(pattern=DEVICE_ID, max_length=200, examples=["zigbee2mqtt:0x00158d0001a2b3c4"])
]
ComponentId = Annotated[str, Field(pattern=COMPONENT_ID, max_length=64)]
HomeId = Annotated[str, Field(pattern=HOME_ID, max_length=64)]
CapabilityId = Annotated[
    str,
    Field(pattern=r"^(dhi\.[a-z][a-z0-9_]*|x\.[a-z0-9][a-z0-9_\-]*\.[a-z0-9][a-z0-9_\-.]*)$", max_length=128),
]
MEMBER_NAME = r"^[a-z][a-z0-9_]*$"
MemberName = Annotated[str, Field(pattern=MEMBER_NAME, max_length=64)]
Timestamp = AwareDatetime
JsonValue = Any


#: Rules the JSON Schemas cannot express; the models enforce them (spec §2.4). A schema-valid
#: document may still be refused for exactly these reasons — the message starts with the text.
SEMANTIC_RULES: tuple[str, ...] = (
    "duplicate property name",
    "duplicate command name",
    "duplicate event name",
    "minimum is greater than maximum",
    "access flags repeat",
    "definition.id must equal the capability id",
    "capability listed twice in component",
    "component ids must be unique",
)


def names_schema(pattern: str) -> dict[str, Any]:
    """``propertyNames`` for dicts keyed by member names (pydantic does not emit it)."""
    return {"propertyNames": {"pattern": pattern}}


def utcnow() -> datetime:
    return datetime.now(UTC)


class DhiModel(BaseModel):
    """Base of all wire models: unknown keys are errors, names are snake_case."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
