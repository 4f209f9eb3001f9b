"""Tampering with a safety device: its ``tamper`` property or its tampered / cleared events."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.TAMPER,
        latching=True,
        scope=Scope.DEVICE,
        triggers=(
            Trigger(AlertKind.TAMPER, "dhi.tamper", property="tamper", safety_only=True),
            Trigger(AlertKind.TAMPER, "dhi.tamper", event="tampered", safety_only=True),
            Trigger(AlertKind.TAMPER, "dhi.tamper", event="cleared", ends=True, safety_only=True),
        ),
    )
)
