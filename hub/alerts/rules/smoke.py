"""Smoke: a smoke alarm's ``smoke`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.SMOKE,
        latching=True,
        scope=Scope.ROOM,
        triggers=(
            Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", property="smoke"),
            Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", event="alarm"),
            Trigger(AlertKind.SMOKE, "dhi.smoke_alarm", event="cleared", ends=True),
        ),
    )
)
