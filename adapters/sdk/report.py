"""The offline mapping report of ``dhome adapters check`` (DESIGN §10)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dhi.models import DeviceDescription


class Unmapped(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature: str
    reason: str


class FeatureFate(BaseModel):
    """What one vendor feature became: a DHI property, or (``component`` None) why not.
    ``reason`` on a mapped feature explains a placement (e.g. moved off a taken property)."""

    model_config = ConfigDict(extra="forbid")
    feature: str
    component: str | None = None
    capability: str | None = None
    property: str | None = None
    reason: str | None = None


class DeviceMapping(BaseModel):
    """How one vendor device maps: the DHI description plus feature accounting."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    description: DeviceDescription | None = None
    features: int = Field(ge=0, description="vendor features seen")
    standard: int = Field(ge=0, description="features mapped to catalog capabilities")
    vendor: int = Field(ge=0, description="features kept as typed vendor properties")
    unmapped: list[Unmapped] = Field(default_factory=list)
    mapping: list[FeatureFate] = Field(
        default_factory=list, description="every bound feature and the DHI property it became"
    )
    warnings: list[str] = Field(
        default_factory=list, description="read despite a defect of the vendor data (e.g. a null version)"
    )

    def fates(self) -> list[FeatureFate]:
        """Bound features, then unmapped ones with their reason (the ``adapters check`` listing)."""
        return [*self.mapping, *(FeatureFate(feature=u.feature, reason=u.reason) for u in self.unmapped)]

    @classmethod
    def unreadable(
        cls, id: str, name: str, feature: str, reason: str, *, counted: bool = True
    ) -> DeviceMapping:
        """A vendor record that could not be read at all: one unmapped feature saying why."""
        return cls(
            id=id,
            name=name,
            features=1 if counted else 0,
            standard=0,
            vendor=0,
            unmapped=[Unmapped(feature=feature, reason=reason)],
        )


class Summary(BaseModel):
    devices: int
    fully_mapped: int
    features: int
    standard: int
    vendor: int
    unmapped_features: int


class MappingReport(BaseModel):
    adapter: str
    devices: list[dict[str, Any]]
    summary: Summary


def build_report(adapter: str, mappings: list[DeviceMapping]) -> MappingReport:
    devices = []
    for m in mappings:
        comps: dict[str, list[str]] = {}
        if m.description is not None:
            comps = {c.id: [cap.id for cap in c.capabilities] for c in m.description.components}
        devices.append(
            {
                "id": m.id,
                "name": m.name,
                "components": comps,
                "capabilities": m.description.capability_ids() if m.description else [],
                "unmapped": [u.model_dump() for u in m.unmapped],
                "mapping": [f.model_dump() for f in m.fates()],
                "warnings": m.warnings,
                "features": m.features,
                "standard": m.standard,
                "vendor": m.vendor,
            }
        )
    summary = Summary(
        devices=len(mappings),
        fully_mapped=sum(1 for m in mappings if not m.unmapped),
        features=sum(m.features for m in mappings),
        standard=sum(m.standard for m in mappings),
        vendor=sum(m.vendor for m in mappings),
        unmapped_features=sum(len(m.unmapped) for m in mappings),
    )
    return MappingReport(adapter=adapter, devices=devices, summary=summary)
