"""``Store.receive_batch`` (the city workers' path: one transaction per fetched batch) gives the
outcomes and rows of ``receive`` one message at a time, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from community.store import Store
from tests.community.conftest import alert_event, enrol


def batch() -> list[tuple[str, str, dict[str, Any]]]:
    raised = alert_event("flat-1", "a1")
    update = alert_event("flat-1", "a1", state="acknowledged", time="2026-01-15T08:05:00Z")
    late = alert_event("flat-2", "b1", time="2026-01-15T07:00:00Z", msg="b1-late")
    other = {"specversion": "1.0", "id": "s1", "source": "dhome://flat-2", "type": "org.dhi.v1.state.changed",
             "data": {"device": "d", "property": "p", "value": 1}}  # fmt: skip
    items = [raised, raised, update, alert_event("flat-2", "b1"), late, other, alert_event("flat-1", "a2")]
    return [(e["id"], e["source"].removeprefix("dhome://"), e) for e in items]


def test_a_batch_has_the_outcomes_and_rows_of_one_by_one(store: Store) -> None:
    for home in ("flat-1", "flat-2"):
        enrol(store, home)
    store.receive("already", "flat-1", alert_event("flat-1", "a0", msg="already"))
    items = [("already", "flat-1", alert_event("flat-1", "a0", msg="already")), *batch()]
    got = store.receive_batch(items)
    assert [o.duplicate for o in got] == [True, False, True, False, False, False, False, False]
    # shown: a new or changed alert; not the second copy, not the older message arriving late
    assert [o.alert is not None for o in got] == [False, True, False, True, True, False, False, True]
    assert got[3].alert is not None and got[3].alert["hub_state"] == "acknowledged"
    assert store.counts() == {"messages": 7, "alerts": 4, "actions": 0, "households": 2}
    b1 = store.alert("flat-2", "b1")
    assert b1 is not None and b1["hub_state"] == "active"
    again = store.receive_batch(items, views=False)
    assert all(o.duplicate and o.alert is None for o in again)
    assert store.counts()["messages"] == 7


def test_a_batch_without_views_stores_the_same(store: Store) -> None:
    enrol(store, "flat-1")
    enrol(store, "flat-2")
    got = store.receive_batch(batch(), views=False)
    assert [o.duplicate for o in got] == [False, True, False, False, False, False, False]
    assert all(o.alert is None for o in got)
    a1 = store.alert("flat-1", "a1")
    assert a1 is not None and a1["hub_state"] == "acknowledged"
    assert store.counts() == {"messages": 6, "alerts": 3, "actions": 0, "households": 2}
