"""A safety device unreachable for longer than ``grace`` (an engine hook: a timer per device)."""

from __future__ import annotations

from dhi.models.alert import AlertKind
from hub.alerts.config import OfflineRule
from hub.alerts.rule import AlertRule, Scope
from hub.alerts.rules import register

RULE = register(
    AlertRule(
        AlertKind.DEVICE_OFFLINE,
        latching=False,
        scope=Scope.DEVICE,
        config=OfflineRule,
    )
)
