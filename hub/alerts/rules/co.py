"""Carbon monoxide: a CO alarm's ``carbon_monoxide`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, alarm_triggers
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.CO,
        latching=True,
        scope=Scope.ROOM,
        triggers=alarm_triggers(AlertKind.CO, "dhi.co_alarm", "carbon_monoxide"),
    )
)
