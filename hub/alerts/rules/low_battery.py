"""Low battery on a safety device: its low flag, charge level or event, or a percentage at
or below the threshold (the percentage comparison is an engine hook)."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import LowBatteryRule
from hub.alerts.rule import AlertRule, Scope, Trigger, one_of
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.LOW_BATTERY,
        latching=False,
        scope=Scope.DEVICE,
        config=LowBatteryRule,
        triggers=(
            Trigger(AlertKind.LOW_BATTERY, "dhi.battery", property="low", safety_only=True),
            Trigger(
                AlertKind.LOW_BATTERY,
                "dhi.battery",
                property="charge_level",
                active=one_of("warning", "critical"),
                safety_only=True,
            ),
            Trigger(AlertKind.LOW_BATTERY, "dhi.battery", event="low_battery", safety_only=True),
        ),
    )
)
