"""The data tables name only what exists: catalog capabilities/properties/events for the rule
signals, every alert kind in the kind and CAP tables, every rule kind in the config."""

from __future__ import annotations

import pytest

from dhi.catalog import default_catalog
from dhi.models.alert import AlertKind
from hub.alerts import signals
from hub.alerts.config import AlertsConfig
from hub.alerts.kinds import KIND_INFO, KINDS
from hub.bridges.cap import CAP_KIND

ROWS = [*signals.TRIGGERS, *signals.ACTIVITY, *signals.DOORS]


@pytest.mark.parametrize(
    "row", ROWS, ids=lambda r: f"{r.capability}.{getattr(r, 'property', None) or r.event}"
)
def test_every_signal_row_names_a_catalog_member(row: object) -> None:
    cap = default_catalog().get(row.capability)  # type: ignore[attr-defined]
    assert cap is not None, f"{row.capability} is not in the catalog"  # type: ignore[attr-defined]
    prop, event = getattr(row, "property", None), getattr(row, "event", None)
    assert (prop is None) != (event is None)
    if prop is not None:
        assert cap.property(prop) is not None, f"{cap.id} has no property {prop}"
    else:
        assert event is not None and cap.event(event) is not None, f"{cap.id} has no event {event}"


def test_every_kind_has_its_rows() -> None:
    assert len(KINDS) == len(KIND_INFO) == len(AlertKind)
    assert set(CAP_KIND) == set(AlertKind)
    rules = AlertsConfig().rules
    for kind in AlertKind:
        assert rules.for_kind(kind.value).enabled


def test_safety_category_exists() -> None:
    safety = {c.id for c in default_catalog().by_category["safety"]}
    assert {"dhi.smoke_alarm", "dhi.gas_leak", "dhi.water_leak", "dhi.co_alarm"} <= safety
