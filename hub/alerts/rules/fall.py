"""Fall: a confirmed fall from a fall-detection sensor (radar), or its event."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger, one_of
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.FALL,
        latching=True,
        scope=Scope.ROOM,
        triggers=(
            # a radar reports `suspected` while it confirms: only a confirmed fall (or its event) alerts
            Trigger(AlertKind.FALL, "dhi.fall_detection", property="state", active=one_of("fallen")),
            Trigger(AlertKind.FALL, "dhi.fall_detection", event="fall_detected"),
            Trigger(AlertKind.FALL, "dhi.fall_detection", event="cleared", ends=True),
        ),
    )
)
