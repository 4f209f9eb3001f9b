"""Every scenario in examples/homes raises exactly the alerts it expects — no more — with the
default rules, played in-process on the scenario's own clock (so time-of-day rules see the
scenario's times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.alerts.engine import AlertEngine
from hub.cli.simulate import simulate
from hub.consent import ConsentService
from hub.outbox import Outbox

pytestmark = pytest.mark.slow

HOMES = Path(__file__).resolve().parents[2] / "examples" / "homes"
SCENARIOS = sorted(p.stem for p in HOMES.glob("*.yaml"))


def test_the_scenarios_are_there() -> None:
    for name in ("normal_day", "kitchen_fire", "gas_leak", "water_leak", "elderly_fall", "inactivity_12h",
                 "night_wander", "smoke_alarm_battery_dying"):  # fmt: skip
        assert name in SCENARIOS


@pytest.mark.parametrize("name", SCENARIOS)
async def test_scenario_raises_exactly_the_expected_alerts(tmp_path: Path, name: str) -> None:
    consent = ConsentService()
    result = await simulate(
        HOMES / f"{name}.yaml",
        speed=20_000,
        data_dir=tmp_path,
        services=[consent, Outbox(consent), AlertEngine()],
    )
    raised = [(a.kind.value, a.room) for a in result.alerts]
    assert result.missing_alerts() == [], f"{name}: raised {raised}"
    assert result.unexpected_alerts() == [], f"{name}: raised {raised}"
    assert len(result.alerts) == len(result.scenario.expect.alerts), f"{name}: raised {raised}"
