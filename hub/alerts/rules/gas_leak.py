"""Gas leak: a gas detector's ``gas`` property or its alarm / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, alarm_triggers
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.GAS_LEAK,
        latching=True,
        scope=Scope.ROOM,
        triggers=alarm_triggers(AlertKind.GAS_LEAK, "dhi.gas_leak", "gas"),
    )
)
