"""Types shared by every DHI v1 model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

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
#: RFC 3339 §5.6 ``date-time`` as spec §5.1 profiles it: full date, ``T``, full time with
#: seconds, fraction optional, offset ``Z`` or ``±hh:mm``; ``T``/``Z`` upper case (RFC 3339
#: lets a spec require it) and no leap second 60 (few languages can hold it). Looser ISO 8601
#: forms (``+0800``, a space, no seconds, an epoch number in a string) are refused: receivers
#: in other languages read them differently or not at all.
RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)


def is_rfc3339(value: object) -> bool:
    """True for an RFC 3339 ``date-time`` string (spec §5.1) that names a real day (no 30
    February): the format checker of the schemas' ``format: date-time`` and of the models."""
    if not isinstance(value, str) or RFC3339.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _rfc3339_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    # pydantic would read a number as Unix time: -1 became 1969
    if not isinstance(value, str):
        raise ValueError("a time must be an RFC 3339 string with an offset, e.g. 2026-01-01T08:00:00+08:00")
    if not is_rfc3339(value):
        raise ValueError("not an RFC 3339 date-time (e.g. 2026-03-01T08:15:00Z or …+08:00)")
    return value


def _representable(value: datetime) -> datetime:
    # 0001-01-01T00:00:00+23:59 parses, but is before year 1 in UTC: every later use would fail
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range: it is not between years 1 and 9999 in UTC") from None
    return value


#: a point in time on the wire: RFC 3339 with an offset, with a UTC equivalent; datetimes built
#: in code pass as they are
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_representable)]
JsonValue = Any


#: Rules the JSON Schemas cannot express; the models enforce them (spec §2.4). A schema-valid
#: document may still be refused for exactly these reasons — the message starts with the text.
SEMANTIC_RULES: tuple[str, ...] = (
    "duplicate property name",
    "duplicate command name",
    "duplicate event name",
    "minimum is greater than maximum",
    "access flags repeat",
    "enum_labels must label exactly the values of 'enum'",
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
