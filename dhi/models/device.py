"""Device descriptions (DHI v1 §3): Device → Component → Capability instance."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from dhi.models.catalog import CapabilityDef
from dhi.models.common import (
    DHI_VERSION,
    MEMBER_NAME,
    CapabilityId,
    ComponentId,
    DeviceId,
    DhiModel,
    MemberName,
    names_schema,
)


class PropertyConstraint(DhiModel):
    """A device-specific narrowing of a catalog property's range."""

    minimum: float | None = None
    maximum: float | None = None
    step: Annotated[float, Field(gt=0)] | None = None
    enum: list[str] | None = None


class CapabilityInstance(DhiModel):
    """A capability as one component of a device implements it.

    ``properties``/``commands``/``events`` list the supported subset of the catalog entry
    (absent = all). Vendor capabilities (``x.<vendor>.<name>``) carry their own ``definition``.
    """

    id: CapabilityId
    version: Annotated[int, Field(ge=1)] = 1
    properties: list[MemberName] | None = None
    commands: list[MemberName] | None = None
    events: list[MemberName] | None = None
    constraints: Annotated[
        dict[MemberName, PropertyConstraint] | None, Field(json_schema_extra=names_schema(MEMBER_NAME))
    ] = None
    definition: CapabilityDef | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"id": {"pattern": r"^x\."}}},
            "then": {"required": ["definition"], "properties": {"definition": {"type": "object"}}},
            "else": {"properties": {"definition": {"type": "null"}}},
        }
    )

    @model_validator(mode="after")
    def _vendor_has_definition(self) -> CapabilityInstance:
        vendor = self.id.startswith("x.")
        if vendor and self.definition is None:
            raise ValueError("a vendor capability (x.*) must carry its 'definition'")
        if not vendor and self.definition is not None:
            raise ValueError("only vendor capabilities (x.*) may carry a 'definition'")
        if self.definition is not None and self.definition.id != self.id:
            raise ValueError("definition.id must equal the capability id")
        return self


class Component(DhiModel):
    """A functional part of a device (a Matter endpoint, a relay channel); default ``main``."""

    id: ComponentId = "main"
    label: str | None = None
    capabilities: Annotated[list[CapabilityInstance], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> Component:
        ids = [c.id for c in self.capabilities]
        if len(ids) != len(set(ids)):
            raise ValueError(f"capability listed twice in component {self.id!r}")
        return self

    def capability(self, capability_id: str) -> CapabilityInstance | None:
        return next((c for c in self.capabilities if c.id == capability_id), None)


class DeviceDescription(DhiModel):
    """What a device is and what it can do. Published once, updated on change."""

    dhi_version: str = Field(default=DHI_VERSION, pattern=r"^1\.\d+$")
    id: DeviceId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    adapter: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$")] | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    hardware: str | None = None
    room: str | None = None
    via: DeviceId | None = Field(default=None, description="bridge/gateway this device is reached through")
    components: Annotated[list[Component], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_components(self) -> DeviceDescription:
        ids = [c.id for c in self.components]
        if len(ids) != len(set(ids)):
            raise ValueError("component ids must be unique")
        return self

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)

    def capability_ids(self) -> list[str]:
        return sorted({c.id for comp in self.components for c in comp.capabilities})
