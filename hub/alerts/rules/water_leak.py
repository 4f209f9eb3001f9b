"""Water leak: a leak sensor's ``water_leak`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, alarm_triggers
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.WATER_LEAK,
        latching=True,
        scope=Scope.ROOM,
        triggers=alarm_triggers(AlertKind.WATER_LEAK, "dhi.water_leak", "water_leak"),
    )
)
