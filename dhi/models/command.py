"""Command requests and results (DHI v1 §6)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from dhi.models.common import CapabilityId, ComponentId, DeviceId, DhiModel, MemberName, Timestamp

COMMAND_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"

#: Every writable property can be set with this command (params: ``{property: value}``).
SET_COMMAND = "set"


class CommandRequest(DhiModel):
    id: Annotated[str, Field(pattern=COMMAND_ID)]
    device: DeviceId | None = Field(default=None, description="implied by the topic/URL when absent")
    component: ComponentId = "main"
    capability: CapabilityId
    command: MemberName
    params: dict[str, Any] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0, le=300)] | None = None


class CommandStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class ErrorInfo(DhiModel):
    """A precise error: a stable ``code`` (spec §6.4), what went wrong, and where."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    message: Annotated[str, Field(min_length=1)]
    field: str | None = Field(default=None, description="JSON path of the offending field")
    expected: str | None = None


class CommandResult(DhiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"status": {"const": "error"}}},
            "then": {"required": ["error"], "properties": {"error": {"type": "object"}}},
            "else": {"properties": {"error": {"type": "null"}}},
        }
    )

    id: Annotated[str, Field(pattern=COMMAND_ID)]
    device: DeviceId | None = None
    status: CommandStatus
    error: ErrorInfo | None = None
    result: dict[str, Any] | None = None
    time: Timestamp | None = None

    @model_validator(mode="after")
    def _error_iff_failed(self) -> CommandResult:
        if (self.status is CommandStatus.ERROR) != (self.error is not None):
            raise ValueError("'error' is required when status is 'error' and forbidden otherwise")
        return self
