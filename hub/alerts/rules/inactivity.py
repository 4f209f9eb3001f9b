"""No activity at home for longer than the window allows (an engine hook: it needs the
last sign of life and the time of day), or a care radar that computes inactivity itself."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import InactivityRule
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.INACTIVITY,
        latching=True,
        scope=Scope.HOME,
        config=InactivityRule,
        triggers=(
            # devices that compute inactivity themselves (care radars) report it directly
            Trigger(AlertKind.INACTIVITY, "dhi.inactivity", property="inactive"),
            Trigger(AlertKind.INACTIVITY, "dhi.inactivity", event="inactivity_detected"),
            Trigger(AlertKind.INACTIVITY, "dhi.inactivity", event="activity_resumed", ends=True),
        ),
    )
)
