"""Smoke: a smoke alarm's ``smoke`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, alarm_triggers
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.SMOKE,
        latching=True,
        scope=Scope.ROOM,
        triggers=alarm_triggers(AlertKind.SMOKE, "dhi.smoke_alarm", "smoke"),
    )
)
