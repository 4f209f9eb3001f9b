"""``GET /events`` serves the rows this version wrote as stored (no model pass per row) and
reads rows of an earlier version through the envelope model; both give the same page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import aiohttp
import orjson
from hypothesis import given

from dhi.models.envelope import StateChange, StateChangeData, wire_json
from hub.alerts.engine import AlertEngine
from hub.api.events import event_page
from hub.api.models import Scope
from hub.consent.service import ConsentService
from hub.meta import EVENTS_FORMAT
from tests.api.support import SMOKE, THERMO, hub_config, probe_ctx, running_hub
from tests.hub.test_state_change import json_values, times

NEVER = 2**62  # as_stored_from: every row through the model


@given(json_values, json_values, times)
def test_a_stored_state_change_is_its_page_json_as_the_model_gives_it(
    value: object, previous: object, time: datetime
) -> None:
    change = StateChange(
        "dhome://home/z:1", time, StateChangeData("z:1", "main", "dhi.level", "level", value, previous, None)
    )
    change.seq = 7
    rows = [(7, wire_json(change))]
    assert orjson.loads(event_page(rows, 0, 0)) == orjson.loads(event_page(rows, 0, NEVER))


async def test_rows_of_every_kind_read_as_stored_equal_the_model_and_old_rows_are_normalised(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, extra_services=[ConsentService(), AlertEngine()]) as h:
        ctx = probe_ctx(h.hub)
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 21.5})
        ctx.publish_state(SMOKE, "dhi.smoke_alarm", {"smoke": True})  # an alert, too
        ctx.set_available(THERMO, False, "battery out")
        await h.hub.settled()
        rows = [(int(s), str(m)) for s, m in await h.hub.storage.fetchall("SELECT seq, message FROM events")]
        kinds = {orjson.loads(m)["type"] for _, m in rows}
        assert {"org.dhi.v1.device.added", "org.dhi.v1.state.changed", "org.dhi.v1.alert.raised"} <= kinds
        assert "org.dhi.v1.device.availability" in kinds
        as_stored = orjson.loads(event_page(rows, 0, 0))
        assert as_stored == orjson.loads(event_page(rows, 0, NEVER))
        assert [m["seq"] for m in as_stored["items"]] == [s for s, _ in rows]
        assert h.hub.events_as_stored_from == 1  # a new database: every row is this version's
        last = rows[-1][0]
        # a row from before the format was recorded, in a shape the model normalises
        old = orjson.loads(rows[0][1]) | {"drill": None}
        await h.hub.storage.execute(
            "UPDATE events SET message = ? WHERE seq = ?", (orjson.dumps(old).decode(), rows[0][0])
        )
        await h.hub.storage.execute("DELETE FROM meta WHERE key = ?", (EVENTS_FORMAT,))
    async with running_hub(tmp_path, config=hub_config()) as h:
        assert h.hub.events_as_stored_from == last + 1  # what was there is read through the model
        async with (
            aiohttp.ClientSession() as http,
            http.get(h.url + "/events", params={"limit": "1"}, headers=h.auth(Scope.READ)) as resp,
        ):
            page = await resp.json()
        assert "drill" not in page["items"][0]  # the model's exclude_none, not the row as stored
        assert page["items"][0]["seq"] == rows[0][0]


def test_a_page_ending_in_rows_that_no_longer_validate_moves_past_them() -> None:
    good = StateChange("dhome://home/z:1", datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
                       StateChangeData("z:1", "main", "dhi.level", "level", 3, None, None))  # fmt: skip
    good.seq = 4
    rows = [
        (4, wire_json(good)),
        (5, '{"type": "org.dhi.v1.state.changed", "broken": true}'),
        (6, "not json"),
    ]
    page = orjson.loads(event_page(rows, 3, NEVER))
    assert [m["seq"] for m in page["items"]] == [4]
    assert page["next"] == 6  # not 4: the next page must not start with the same broken rows
