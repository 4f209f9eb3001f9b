"""State and event reports (DHI v1 §5)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dhi.models.common import (
    MEMBER_NAME,
    CapabilityId,
    ComponentId,
    DhiModel,
    MemberName,
    Timestamp,
    names_schema,
)


class StateReport(DhiModel):
    """Current values of one capability instance (the retained DHI-MQTT ``state`` payload)."""

    component: ComponentId = "main"
    capability: CapabilityId
    properties: Annotated[
        dict[MemberName, Any], Field(min_length=1, json_schema_extra=names_schema(MEMBER_NAME))
    ]
    time: Timestamp | None = None


class EventReport(DhiModel):
    """Something that happened once (a button press, an alarm going off)."""

    component: ComponentId = "main"
    capability: CapabilityId
    event: MemberName
    payload: dict[str, Any] = Field(default_factory=dict)
    time: Timestamp | None = None
