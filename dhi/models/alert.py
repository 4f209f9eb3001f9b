"""Alerts (DHI v1 §8): abnormal situations at home, with CAP 1.2 severity."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from dhi.models.common import DeviceId, DhiModel, HomeId, Timestamp


class AlertKind(StrEnum):
    SMOKE = "smoke"
    CO = "co"
    GAS_LEAK = "gas_leak"
    WATER_LEAK = "water_leak"
    SOS = "sos"
    FALL = "fall"
    INACTIVITY = "inactivity"
    NIGHT_ACTIVITY = "night_activity"
    DOOR_OPEN = "door_open"
    DEVICE_OFFLINE = "device_offline"
    LOW_BATTERY = "low_battery"
    TAMPER = "tamper"
    HEAT = "heat"
    CARBON_DIOXIDE_HIGH = "carbon_dioxide_high"


class Severity(StrEnum):
    """CAP 1.2 ``severity`` values."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Urgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class AlertState(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class Alert(DhiModel):
    id: Annotated[str, Field(min_length=1, max_length=128)]
    kind: AlertKind
    severity: Severity
    urgency: Urgency = Urgency.IMMEDIATE
    state: AlertState = AlertState.ACTIVE
    home: HomeId
    room: str | None = None
    devices: list[DeviceId] = Field(default_factory=list)
    summary: str | None = None
    summary_zh: str | None = Field(default=None, description="简体中文 summary")
    first_seen: Timestamp
    last_seen: Timestamp
    count: Annotated[int, Field(ge=1)] = 1
    escalation: Annotated[int, Field(ge=0)] = 0
    acknowledged_by: str | None = None
    acknowledged_at: Timestamp | None = None
    cleared_at: Timestamp | None = None
    drill: bool | None = Field(
        default=None,
        description="true: raised by a drill (an exercise, CAP status Exercise), not a real emergency; "
        "absent otherwise (DHI 1.1)",
    )
