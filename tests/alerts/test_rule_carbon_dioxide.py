"""The carbon_dioxide_high rule (hub/alerts/rules/carbon_dioxide_high.py): a kind added as its
data (alerts.yaml), its ``AlertKind`` and one rule module — a threshold with hysteresis, not
latching, configured under ``alerts.rules.carbon_dioxide_high``."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhi.alertkinds import default_alert_kinds
from dhi.models.alert import AlertKind, Severity
from hub.alerts.config import AlertsConfig
from tests.alerts.support import device, running_home

BEDROOM = device("bedroom-air", "bedroom", ("dhi.co2", ["co2"]))


async def test_stale_air_raises_a_notice_that_clears_itself_below_the_hysteresis(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(BEDROOM)
        home.set(BEDROOM, "dhi.co2", co2=1999)
        await home.settle()
        assert home.open_alerts() == []
        home.set(BEDROOM, "dhi.co2", co2=2400)
        await home.settle()
        [alert] = home.open_alerts()
        assert (alert.kind, alert.room, alert.severity) == (
            AlertKind.CARBON_DIOXIDE_HIGH,
            "bedroom",
            Severity.MINOR,
        )
        assert alert.summary_zh == "卧室二氧化碳浓度过高"
        home.set(BEDROOM, "dhi.co2", co2=1850)  # within the 200 ppm band: still stale
        await home.settle()
        assert [a.id for a in home.open_alerts()] == [alert.id]
        home.set(BEDROOM, "dhi.co2", co2=1700)
        await home.settle()
        assert home.open_alerts() == []  # not latching: fresh air ends it


async def test_its_threshold_is_configured_under_its_kind(tmp_path: Path) -> None:
    async with running_home(tmp_path, alerts={"rules": {"carbon_dioxide_high": {"threshold": 1200}}}) as home:
        home.add(BEDROOM)
        home.set(BEDROOM, "dhi.co2", co2=1300)
        await home.settle()
        assert [a.kind for a in home.open_alerts()] == [AlertKind.CARBON_DIOXIDE_HIGH]


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        (
            {"carbon_dioxide_high": {"threshold": 50}},
            "carbon_dioxide_high.threshold: Input should be greater than or equal to 400",
        ),
        ({"carbon_dioxide_hi": {}}, "'carbon_dioxide_hi' is not an alert rule"),
    ],
)
def test_a_bad_rule_section_is_refused_with_the_reason(rules: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        AlertsConfig.model_validate({"rules": rules})


def test_the_kind_is_a_notice_with_advice() -> None:
    kind = default_alert_kinds()["carbon_dioxide_high"]
    assert kind.class_.value == "notice" and kind.call == [] and kind.cap.category.value == "Env"
