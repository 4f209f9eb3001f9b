"""The safety lane at the hub: which readings are priority (from the catalog and the heat
rule's limit), and that the alert engine skips a bulk reading a priority one overtook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dhi.catalog import default_catalog
from dhi.models.envelope import StateChange, StateChangeData, source_for
from dhi.priority import priority_capabilities
from hub.alerts.engine import AlertEngine
from tests.api.support import SMOKE, THERMO, probe_ctx, running_hub


def test_priority_capabilities_are_the_catalogs_safety_and_care_ones() -> None:
    caps = priority_capabilities(default_catalog())
    assert {"dhi.smoke_alarm", "dhi.sos", "dhi.fall_detection", "dhi.bed_occupancy"} <= caps
    assert not {"dhi.temperature", "dhi.battery", "dhi.on_off"} & caps
    assert all(default_catalog()[c].category in ("safety", "care") for c in caps)


async def test_readings_take_the_lane_of_their_device_or_of_a_threshold_near_its_limit(
    tmp_path: Path,
) -> None:
    engine = AlertEngine()
    async with running_hub(tmp_path, extra_services=[engine]) as h:
        seen: list[tuple[str, Any, bool]] = []
        h.hub.bus.tap(
            lambda m: seen.append((m.subject, m.data.value, m.priority)) if type(m) is StateChange else None,
            raw=True,
        )
        ctx = probe_ctx(h.hub)
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 30.0})
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 53.0})  # heat: 57 - 5 = 52
        ctx.publish_state(SMOKE, "dhi.smoke_alarm", {"smoke": True})
        assert seen == [(THERMO, 30.0, False), (THERMO, 53.0, True), (SMOKE, True, True)]

        # a bulk reading older than a priority one of the same property is stale to the engine
        await h.hub.settled()
        data = StateChangeData(THERMO, "main", "dhi.temperature", "temperature", 60.0, 53.0, "probe")
        hot = StateChange(source_for("home", THERMO), h.hub.clock.now(), data, priority=True)
        stale_data = StateChangeData(THERMO, "main", "dhi.temperature", "temperature", 20.0, 60.0, "probe")
        stale = StateChange(source_for("home", THERMO), h.hub.clock.now(), stale_data)
        stale.seq, hot.seq = h.hub.bus.next_seq(), h.hub.bus.next_seq()
        await engine._handle(hot)
        await engine._handle(stale)
        assert [a.kind for a in engine.list_alerts()].count("heat") == 1
        # the heat condition still holds: the stale 20 °C did not end it
        heat = [t for t in engine._open.values() if t.alert.kind == "heat"]
        assert len(heat) == 1 and heat[0].conditions and not heat[0].restored
