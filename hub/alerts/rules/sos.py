"""Emergency call: an SOS button press, the device's own latched alarm, or a keypad's panic key."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule, Scope, Trigger
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.SOS,
        latching=True,
        scope=Scope.ROOM,
        triggers=(
            # an SOS press is momentary; `active` is the device's own latched alarm, reset clears it
            Trigger(AlertKind.SOS, "dhi.sos", event="pressed"),
            Trigger(AlertKind.SOS, "dhi.sos", property="active"),
            Trigger(AlertKind.SOS, "dhi.security_keypad", event="panic"),
        ),
    )
)
