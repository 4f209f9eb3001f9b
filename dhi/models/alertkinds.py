"""What an alert kind *is* (DHI v1 §8.4): the shape of ``spec/interface/alerts.yaml``.

How a kind is detected is the hub's business (its rule modules); what it means — names,
summary, advice, emergency numbers, CAP mapping and whether it is about safety, care or just
a notice — is interface data that the hub, the web app and a platform read alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dhi.models.alert import Severity, Urgency
from dhi.models.catalog import Labels


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class AlertClass(StrEnum):
    """``safety``: danger to life or home (fire, gas, water); ``care``: the resident may need
    help (a fall, an SOS, no activity); ``notice``: something to fix (a battery, a door)."""

    SAFETY = "safety"
    CARE = "care"
    NOTICE = "notice"


class CapCategory(StrEnum):
    """CAP 1.2 ``category`` values."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class CapCertainty(StrEnum):
    """CAP 1.2 ``certainty`` values."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class CapMapping(_Strict):
    """How an alert of this kind is written as a CAP 1.2 ``info`` block (defaults of the hub)."""

    category: CapCategory
    certainty: CapCertainty
    severity: Severity
    urgency: Urgency


class Advice(_Strict):
    """Short imperative sentences, most important first, in English and Simplified Chinese."""

    en: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    zh_cn: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, alias="zh-CN")]


class EmergencyNumber(_Strict):
    number: Annotated[str, Field(pattern=r"^[0-9]{3,6}$")]
    label: Labels


class AlertKindDef(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    class_: Annotated[AlertClass, Field(alias="class")]
    label: Labels
    #: one line for a notification; ``{where}`` is the room (or the home), ``{quiet}`` a duration
    summary: Labels
    advice: Advice
    #: emergency numbers that fit, from ``numbers``; empty when calling for help is not the answer
    call: list[Annotated[str, Field(pattern=r"^[0-9]{3,6}$")]] = Field(default_factory=list)
    cap: CapMapping


class AlertKindsFile(_Strict):
    """The shape of ``spec/interface/alerts.yaml`` (also served at ``GET /api/v1/alert-kinds``)."""

    numbers: list[EmergencyNumber]
    kinds: list[AlertKindDef]
