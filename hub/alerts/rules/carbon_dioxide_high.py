"""Stale indoor air: a CO₂ reading at or above the threshold (a notice: open a window).

2000 ppm is well above the ~1000 ppm that ventilation guidance aims for and where people
start to feel drowsy; it ends 200 ppm lower so a reading hovering at the limit does not flap.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dhi.models.alert import AlertKind
from hub.alerts.config import ThresholdRule
from hub.alerts.rule import AlertRule, Scope
from hub.alerts.rules import register


class CarbonDioxideRule(ThresholdRule):
    threshold: Annotated[float, Field(ge=400, le=10000)] = Field(
        default=2000, description="CO₂ concentration (ppm) at or above which it is an alert"
    )
    hysteresis: Annotated[float, Field(ge=0, le=2000)] = Field(
        default=200, description="the condition ends below threshold - hysteresis (no flapping)"
    )


RULE = register(
    AlertRule(
        AlertKind.CARBON_DIOXIDE_HIGH,
        latching=False,
        scope=Scope.ROOM,
        config=CarbonDioxideRule,
        threshold=("dhi.co2", "co2"),
    )
)
