"""Abnormal heat: any room temperature sensor at or above the threshold (the way
fixed-temperature heat detectors work), for kitchens that cannot have a smoke alarm."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import HeatRule
from hub.alerts.rule import AlertRule, Scope
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.HEAT,
        latching=True,
        scope=Scope.ROOM,
        config=HeatRule,
        threshold=("dhi.temperature", "temperature"),
    )
)
