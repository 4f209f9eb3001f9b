"""The alert rules: one module per alert kind in this package, each registering an ``AlertRule``.

A module calls ``register(AlertRule(...))`` at import; ``rules()`` imports every module of the
package once and returns the registry in the order of spec/interface/alerts.yaml. Adding a kind
is its entry in alerts.yaml (and ``AlertKind``), one module here, and tests (CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from dhi.alertkinds import default_alert_kinds
from dhi.models.alert import AlertKind
from hub.alerts.rule import AlertRule

_REGISTERED: dict[AlertKind, AlertRule] = {}


def register(rule: AlertRule) -> AlertRule:
    if rule.kind in _REGISTERED:
        raise TypeError(f"a rule for alert kind {rule.kind.value!r} is registered twice")
    if rule.threshold is not None and "threshold" not in rule.config.model_fields:
        raise TypeError(f"rule {rule.kind.value!r} reads a threshold but its config has none")
    _REGISTERED[rule.kind] = rule
    return rule


@cache
def rules() -> dict[AlertKind, AlertRule]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    missing = [k.value for k in AlertKind if k not in _REGISTERED]
    if missing:
        raise RuntimeError(f"alert kinds without a rule module in hub/alerts/rules: {', '.join(missing)}")
    return {AlertKind(k): _REGISTERED[AlertKind(k)] for k in default_alert_kinds()}
