"""Water leak: a leak sensor's ``water_leak`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.WATER_LEAK,
        latching=True,
        scope=Scope.ROOM,
        triggers=(
            Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", property="water_leak"),
            Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", event="alarm"),
            Trigger(AlertKind.WATER_LEAK, "dhi.water_leak", event="cleared", ends=True),
        ),
    )
)
