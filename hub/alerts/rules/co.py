"""Carbon monoxide: a CO alarm's ``carbon_monoxide`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.CO,
        latching=True,
        scope=Scope.ROOM,
        triggers=(
            Trigger(AlertKind.CO, "dhi.co_alarm", property="carbon_monoxide"),
            Trigger(AlertKind.CO, "dhi.co_alarm", event="alarm"),
            Trigger(AlertKind.CO, "dhi.co_alarm", event="cleared", ends=True),
        ),
    )
)
