"""The platform's storage, on SQLite and PostgreSQL alike: a message stored once whatever the
redeliveries, one winner when two staff act at once, one escalation, codes used once, retention."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from community.store import Conflict, NotFound, Store
from tests.community.conftest import Clock, alert_event, enrol


def test_a_redelivered_message_is_stored_once(store: Store) -> None:
    enrol(store, "flat-1")
    event = alert_event("flat-1", "a1")
    first = store.receive(event["id"], "flat-1", event)
    assert not first.duplicate and first.alert is not None and first.alert["household"] == "flat-1 陈阿姨"
    for _ in range(2):
        again = store.receive(event["id"], "flat-1", event)
        assert again.duplicate and again.alert is None
    assert store.counts() == {"messages": 1, "alerts": 1, "actions": 0, "households": 1}


def test_concurrent_redeliveries_store_one_row(store: Store) -> None:
    enrol(store, "flat-1")
    event = alert_event("flat-1", "a1")
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: store.receive(event["id"], "flat-1", event), range(8)))
    assert sum(not o.duplicate for o in outcomes) == 1
    assert store.counts()["messages"] == 1


def test_an_older_message_arriving_late_does_not_undo_a_newer_one(store: Store) -> None:
    enrol(store, "flat-1")
    newer = alert_event("flat-1", "a1", state="acknowledged", time="2026-01-15T08:05:00Z")
    older = alert_event("flat-1", "a1", time="2026-01-15T08:00:00Z")
    store.receive(newer["id"], "flat-1", newer)
    assert store.receive(older["id"], "flat-1", older).alert is None
    shown = store.alert("flat-1", "a1")
    assert shown is not None and shown["hub_state"] == "acknowledged"


def test_every_stored_change_of_an_alert_counts_one_version_more(store: Store, clock: Clock) -> None:
    """The version the console orders views by: one more for each change of the row — the home's
    messages (a batch's too), each staff action that changed it, the escalation — and not for a
    note, a lost action or a message that changed nothing."""
    enrol(store, "flat-1")
    store.add_staff("wang", "王芳", "supervisor", "password-1")
    raised = alert_event("flat-1", "a1", first_seen="2026-01-15T08:00:00Z")
    seen = [store.receive(raised["id"], "flat-1", raised).alert]
    clock.advance(minutes=6)
    seen += store.escalate_due(timedelta(minutes=5))
    seen.append(store.act("flat-1", "a1", "wang", "assign", to="li"))
    seen.append(store.act("flat-1", "a1", "wang", "acknowledge"))
    late = alert_event("flat-1", "a1", state="acknowledged", time="2026-01-15T08:01:00Z")
    seen.append(store.receive_batch([(late["id"], "flat-1", late)])[0].alert)
    seen.append(store.act("flat-1", "a1", "wang", "resolve"))
    assert [v["version"] for v in seen if v is not None] == [1, 2, 3, 4, 5, 6]
    assert store.act("flat-1", "a1", "wang", "note", note="已上门")["version"] == 6
    with pytest.raises(Conflict) as lost:
        store.act("flat-1", "a1", "wang", "acknowledge")
    assert lost.value.alert is not None and lost.value.alert["version"] == 6
    older = alert_event("flat-1", "a1", time="2026-01-15T08:00:30Z")
    assert store.receive(older["id"], "flat-1", older).alert is None
    assert [a["version"] for a in store.all_alerts()] == [6]


def test_queue_is_sorted_by_severity_then_age(store: Store) -> None:
    enrol(store, "flat-1")
    rows = [
        ("a-old-minor", "Minor", "07:00"),
        ("a-new-extreme", "Extreme", "08:30"),
        ("a-old-extreme", "Extreme", "08:00"),
    ]
    for alert_id, severity, at in rows:
        ev = alert_event("flat-1", alert_id, severity=severity, first_seen=f"2026-01-15T{at}:00Z")
        store.receive(ev["id"], "flat-1", ev)
    assert [a["id"] for a in store.queue()] == ["a-old-extreme", "a-new-extreme", "a-old-minor"]


def test_two_staff_acknowledging_at_once_one_wins_the_other_sees_who(store: Store) -> None:
    enrol(store, "flat-1")
    ev = alert_event("flat-1", "a1")
    store.receive(ev["id"], "flat-1", ev)
    store.add_staff("wang", "王芳", "duty", "password-1")
    store.add_staff("li", "李强", "duty", "password-2")

    def take(who: str) -> str:
        try:
            store.act("flat-1", "a1", who, "acknowledge")
            return "won"
        except Conflict as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(take, ["wang", "li"]))
    assert results.count("won") == 1
    [lost] = [r for r in results if r != "won"]
    winner = "wang" if results[0] == "won" else "li"
    assert lost.startswith(f"already acknowledged by {winner}")
    # exactly one acknowledgement goes to the home, with the winner's name
    [ack] = store.acks_after("flat-1", 0)
    assert ack["alert_id"] == "a1" and ack["by"] == {"wang": "王芳", "li": "李强"}[winner]
    shown = store.act("flat-1", "a1", "li", "resolve", note="已上门 误报")
    assert shown["desk"] == "resolved" and shown["resolved_by"] == "li"
    with pytest.raises(Conflict, match="already resolved by li"):
        store.act("flat-1", "a1", "wang", "resolve")
    assert [a["action"] for a in store.acks_after("flat-1", ack["seq"])] == ["resolve"]
    assert [h["action"] for h in store.history("flat-1")] == ["resolve", "acknowledge"]


def test_unacknowledged_alerts_escalate_once(store: Store, clock: Clock) -> None:
    enrol(store, "flat-1")
    for alert_id in ("a1", "a2"):
        ev = alert_event("flat-1", alert_id, first_seen="2026-01-15T08:00:00Z")
        store.receive(ev["id"], "flat-1", ev)
    store.add_staff("wang", "王芳", "duty", "password-1")
    store.act("flat-1", "a2", "wang", "acknowledge")
    assert store.escalate_due(timedelta(minutes=5)) == []
    clock.advance(minutes=6)
    assert [a["id"] for a in store.escalate_due(timedelta(minutes=5))] == ["a1"]
    assert store.escalate_due(timedelta(minutes=5)) == []


def test_an_enrolment_code_works_once_and_expires(store: Store, clock: Clock) -> None:
    code = store.create_code("3号楼", "test", timedelta(days=1))
    secret = store.redeem(code.lower().replace("-", " "), "flat-1", {"name": "陈"}, {"alert_kinds": ["sos"]})
    assert secret.startswith("whsec_") and store.secret_of("flat-1") == secret
    with pytest.raises(NotFound):
        store.redeem(code, "flat-2", {"name": "李"}, {"alert_kinds": ["sos"]})
    late = store.create_code("4号楼", "test", timedelta(days=1))
    clock.advance(days=2)
    with pytest.raises(NotFound):
        store.redeem(late, "flat-3", {"name": "张"}, {"alert_kinds": ["sos"]})
    assert store.secret_of("flat-2") is None and store.secret_of("flat-3") is None


def test_retention_drops_old_resolved_alerts_and_keeps_open_ones(store: Store, clock: Clock) -> None:
    enrol(store, "flat-1")
    for alert_id in ("a1", "a2"):
        ev = alert_event("flat-1", alert_id)
        store.receive(ev["id"], "flat-1", ev)
    store.add_staff("wang", "王芳", "duty", "password-1")
    store.act("flat-1", "a1", "wang", "resolve")
    clock.advance(days=40)
    assert store.purge(timedelta(days=30)) == {"alerts": 1, "messages": 2}
    assert [a["id"] for a in store.queue()] == ["a2"]


def test_staff_sign_in(store: Store, clock: Clock) -> None:
    store.add_staff("wang", "王芳", "supervisor", "password-1")
    assert store.sign_in("wang", "wrong", timedelta(hours=1)) is None
    token = store.sign_in("wang", "password-1", timedelta(hours=1))
    assert token is not None
    assert store.session(token) == {"username": "wang", "name": "王芳", "role": "supervisor",
                                    "must_change_password": False}  # fmt: skip
    clock.advance(hours=2)
    assert store.session(token) is None
    with pytest.raises(ValueError, match="role must be one of"):
        store.add_staff("x", "x", "boss", "password-1")


def test_the_household_follows_consent_and_a_withdrawal_is_final(store: Store, clock: Clock) -> None:
    """What the hub's link states is kept (changed only when it differs); a withdrawal erases the
    address and contacts, stops intake and upward reports, and only a new enrolment undoes it."""
    enrol(store, "flat-1")
    store.receive("m1", "flat-1", alert_event("flat-1", "a1"))
    same = {"alert_kinds": ["smoke", "fall", "sos"], "fields": None}
    assert store.follow_consent("flat-1", same) is False
    assert store.follow_consent("flat-1", {"alert_kinds": ["smoke"], "fields": ["room"], "expires": None})
    assert store.credentials("flat-1") == (store.secret_of("flat-1"), False)
    clock.advance(minutes=1)
    assert store.follow_consent("flat-1", None) is True
    assert store.follow_consent("flat-1", None) is False
    assert store.follow_consent("flat-1", same) is False  # a late poll does not undo it
    (row,) = store.households()
    assert (row["sharing"], row["address"], row["contacts"], row["consent"]["alert_kinds"]) == (
        False,
        "",
        [],
        [],
    )
    assert row["withdrawn_at"] == row["consent_changed_at"] and row["name"] == "flat-1 陈阿姨"
    assert store.credentials("flat-1") == (store.secret_of("flat-1"), True)
    assert store.enrolled({"flat-1"}) == set()
    assert store.active_alerts() == [] and store.all_alerts() == []
    assert store.follow_consent("flat-9", None) is False  # not enrolled here
    enrol(store, "flat-1")  # the resident enrols again with a new code
    (row,) = store.households()
    assert row["sharing"] and row["withdrawn_at"] is None and store.enrolled({"flat-1"}) == {"flat-1"}
