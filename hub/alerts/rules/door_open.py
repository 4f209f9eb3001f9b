"""A door left open longer than ``max_open`` (an engine hook: a timer per door)."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import DoorOpenRule
from hub.alerts.rule import AlertRule, Scope
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.DOOR_OPEN,
        latching=False,
        scope=Scope.DEVICE,
        config=DoorOpenRule,
    )
)
