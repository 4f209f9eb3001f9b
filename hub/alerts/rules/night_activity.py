"""Abnormal night activity: many signs of life within a short time at night, or an exit
door opening at night (an engine hook: it needs recent history and the time of day)."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import NightActivityRule
from hub.alerts.rule import AlertRule, Scope
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.NIGHT_ACTIVITY,
        latching=True,
        scope=Scope.HOME,
        config=NightActivityRule,
    )
)
