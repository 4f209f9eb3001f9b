"""``publish_states``: one batch of reports (one MQTT read) is checked, stored and published
in one pass, with the semantics of one ``publish_state`` per report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.alerts.support import MOTION, SMOKE, running_home


async def test_a_batch_is_stored_in_order_and_a_bad_report_costs_only_itself(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(SMOKE, MOTION)
        hub, before = home.hub, home.hub.bus.seq
        accepted = home.ctx.publish_states(
            [
                (MOTION.id, "main", "dhi.motion", {"motion": True}),
                (MOTION.id, "main", "dhi.motion", {"motion": "yes"}),  # wrong type: refused
                ("test:nobody", "main", "dhi.motion", {"motion": True}),  # unknown device: refused
                (SMOKE.id, "main", "dhi.smoke_alarm", {"smoke": True}),
                (MOTION.id, "main", "dhi.motion", {"motion": False}),
            ]
        )
        assert accepted == 3
        assert home.ctx.invalid_count == 2
        assert hub.state.get(MOTION.id, "main", "dhi.motion", "motion").value is False  # type: ignore[union-attr]
        await hub.settled()
        rows = await hub.stored_event_rows(before, 100, types=["org.dhi.v1.state.changed"])
        logged = [(seq, json.loads(raw)["data"]) for seq, raw in rows]
        assert [seq for seq, _ in logged] == list(range(before + 1, before + 4))  # one seq each, in order
        assert [(d["device"], d["value"]) for _, d in logged] == [
            (MOTION.id, True),
            (SMOKE.id, True),
            (MOTION.id, False),
        ]
        assert [a.kind.value for a in hub.alerts.list_alerts()] == ["smoke"]  # type: ignore[union-attr]
