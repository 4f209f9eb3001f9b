"""Conformance claims and reports (DHI v1 §10)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from dhi.models.common import DHI_VERSION, CapabilityId, DhiModel, Timestamp


class TargetKind(StrEnum):
    DEVICE = "device"
    ADAPTER = "adapter"
    HUB = "hub"


class Profile(StrEnum):
    CORE = "core"
    SAFETY = "safety"
    CARE = "care"
    SECURITY = "security"
    ENERGY = "energy"


class Claims(DhiModel):
    """What a vendor says its product does; tests for unclaimed features are not-applicable."""

    dhi_version: str = Field(default=DHI_VERSION, pattern=r"^1\.\d+$")
    vendor: Annotated[str, Field(min_length=1)]
    product: Annotated[str, Field(min_length=1)]
    version: str | None = None
    target: TargetKind
    profiles: Annotated[list[Profile], Field(min_length=1)]
    capabilities: list[CapabilityId] = Field(default_factory=list)
    features: dict[str, bool] = Field(default_factory=dict, description="optional features, e.g. lwt, tls")


class ResultStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    WARNING = "warning"
    ERROR = "error"


class Evidence(DhiModel):
    sent: Any = None
    expected: Any = None
    got: Any = None
    message: str | None = None


class TestResult(DhiModel):
    __test__ = False  # not a pytest class

    id: Annotated[str, Field(pattern=r"^DHI-[A-Z]+-\d+\.\d+$")]
    title: str
    status: ResultStatus
    section: str | None = None
    profile: Profile | None = None
    duration_ms: float | None = None
    evidence: Evidence = Field(default_factory=Evidence)


class Summary(DhiModel):
    pass_: Annotated[int, Field(ge=0, alias="pass")] = 0
    fail: Annotated[int, Field(ge=0)] = 0
    not_applicable: Annotated[int, Field(ge=0)] = 0
    warning: Annotated[int, Field(ge=0)] = 0
    error: Annotated[int, Field(ge=0)] = 0


class Report(DhiModel):
    dhi_version: str = DHI_VERSION
    tool: str = "dhome-conformance"
    started: Timestamp
    finished: Timestamp
    target: dict[str, Any]
    claims: Claims
    results: list[TestResult]
    summary: Summary
