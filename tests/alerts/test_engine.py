"""The alert engine in a real in-process hub: raise, de-duplicate, escalate, acknowledge, clear,
timers on the hub clock, and recovery after a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from dhi.errors import NotFound
from dhi.models.alert import AlertKind, AlertState, Severity
from dhi.models.envelope import MessageType
from tests.alerts.support import (
    DOOR,
    FALL,
    GAS,
    MOTION,
    SMOKE,
    SMOKE2,
    SOS,
    ManualClock,
    device,
    running_home,
)


def alert_messages(hub_messages: list[object]) -> list[tuple[str, str]]:
    return [(str(m.type).rsplit(".", 1)[-1], m.data.alert.kind) for m in hub_messages]  # type: ignore[attr-defined]


async def test_smoke_raises_one_alert_per_room_and_latches_until_acknowledged(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        seen = home.hub.bus.subscribe("t", maxsize=1000)
        home.add(SMOKE, SMOKE2)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        [alert] = home.open_alerts()
        assert (alert.kind, alert.room, alert.severity) == (AlertKind.SMOKE, "kitchen", Severity.EXTREME)
        assert alert.devices == [SMOKE.id] and alert.summary_zh == "厨房检测到烟雾"
        # a second detector in the same kitchen is the same fire
        home.set(SMOKE2, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        [again] = home.open_alerts()
        assert again.id == alert.id and again.count == 2 and again.devices == [SMOKE.id, SMOKE2.id]
        # the smoke goes away before anyone reacted: the alarm stays until acknowledged
        home.set(SMOKE, "dhi.smoke_alarm", smoke=False)
        home.set(SMOKE2, "dhi.smoke_alarm", smoke=False)
        await home.settle()
        assert home.engine.get_alert(alert.id).state is AlertState.ACTIVE  # type: ignore[union-attr]
        acked = await home.engine.acknowledge(alert.id, "staff:wang")
        assert acked.state is AlertState.CLEARED and acked.acknowledged_by == "staff:wang"
        await home.settle()
        msgs = [m for m in iter(seen.get_nowait, None) if str(m.type).startswith("org.dhi.v1.alert.")]
        kinds = [str(m.type) for m in msgs]
        assert kinds[0] == MessageType.ALERT_RAISED and kinds[-1] == MessageType.ALERT_CLEARED
        assert kinds.count(MessageType.ALERT_RAISED) == 1
        assert msgs[0].id == f"{alert.id}.raised"


async def test_acknowledged_alert_clears_when_the_condition_ends(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(GAS)
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        [alert] = home.open_alerts()
        acked = await home.engine.acknowledge(alert.id, "staff")
        assert acked.state is AlertState.ACKNOWLEDGED
        assert (
            await home.engine.acknowledge(alert.id, "someone else")
        ).acknowledged_by == "staff"  # idempotent
        home.set(GAS, "dhi.gas_leak", gas=False)
        await home.settle()
        assert home.engine.get_alert(alert.id).state is AlertState.CLEARED  # type: ignore[union-attr]
        with pytest.raises(NotFound):
            await home.engine.acknowledge("no-such-alert", "staff")


async def test_unacknowledged_alert_escalates_on_the_hub_clock(tmp_path: Path) -> None:
    async with running_home(
        tmp_path, alerts={"escalation": {"after": {"Severe": "5m"}, "max_level": 2}}
    ) as home:
        home.add(SOS)
        home.event(SOS, "dhi.sos", "pressed", kind="panic")
        await home.settle()
        [alert] = home.open_alerts()
        assert alert.severity is Severity.SEVERE
        await home.advance(timedelta(minutes=4))
        assert home.engine.get_alert(alert.id).escalation == 0  # type: ignore[union-attr]
        await home.advance(timedelta(minutes=2))
        assert home.engine.get_alert(alert.id).escalation == 1  # type: ignore[union-attr]
        await home.advance(timedelta(minutes=30))
        assert home.engine.get_alert(alert.id).escalation == 2  # type: ignore[union-attr]  # capped
        await home.engine.acknowledge(alert.id, "staff")
        await home.advance(timedelta(hours=1))
        got = home.engine.get_alert(alert.id)
        assert got is not None and got.escalation == 2 and got.state is AlertState.ACKNOWLEDGED


async def test_repeats_are_rate_limited(tmp_path: Path) -> None:
    async with running_home(
        tmp_path, alerts={"update_interval": "1m", "escalation": {"enabled": False}}
    ) as home:
        sub = home.hub.bus.subscribe("t", maxsize=1000)
        home.add(SOS)
        for _ in range(5):
            home.event(SOS, "dhi.sos", "pressed", kind="panic")
            await home.settle()
            await home.advance(timedelta(seconds=1))  # five presses, each at its own time
        updates = [m for m in iter(sub.get_nowait, None) if m.type == MessageType.ALERT_UPDATED]
        assert updates == []  # five presses within a minute: one alert, no flood of updates
        await home.advance(timedelta(minutes=1))
        updates = [m for m in iter(sub.get_nowait, None) if m.type == MessageType.ALERT_UPDATED]
        assert [u.data.alert.count for u in updates] == [5]


async def test_door_left_open_alerts_after_the_limit_and_clears_when_closed(tmp_path: Path) -> None:
    async with running_home(tmp_path, alerts={"rules": {"door_open": {"max_open": "15m"}}}) as home:
        home.add(DOOR)
        home.set(DOOR, "dhi.contact", contact=True)
        home.set(DOOR, "dhi.contact", contact=False)
        await home.advance(timedelta(minutes=14))
        assert home.open_alerts() == []
        await home.advance(timedelta(minutes=2))
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.DOOR_OPEN and alert.room == "hallway"
        home.set(DOOR, "dhi.contact", contact=True)
        await home.settle()
        assert home.open_alerts() == []  # not latching: closing the door is the end of it


async def test_a_due_timer_judges_the_state_after_the_messages_queued_before_it(tmp_path: Path) -> None:
    """The loop stalled past a door's deadline while the door's close (stamped before it) was
    already queued: the timer must see the close first. (On a scenario's 20 000x clock a 45 ms
    stall is 15 minutes: night_wander's door, open for a minute, raised door_open under load.)"""
    async with running_home(tmp_path, alerts={"rules": {"door_open": {"max_open": "15m"}}}) as home:
        home.add(DOOR)
        home.set(DOOR, "dhi.contact", contact=True)
        opened = home.clock.now()
        home.set(DOOR, "dhi.contact", contact=False)
        await home.settle()
        home.clock.advance(timedelta(minutes=16))
        # the timer loop wakes first, the consumer of the close second (asyncio runs them in order)
        home.engine._wake.set()
        closed = opened + timedelta(minutes=1)
        assert home.ctx.publish_state(DOOR.id, "dhi.contact", {"contact": True}, time=closed)
        await home.settle()
        await home.advance(timedelta(0))
        assert [a.kind for a in home.engine.list_alerts()] == []


async def test_safety_device_offline_after_grace(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(SMOKE, MOTION)
        home.ctx.set_available(SMOKE.id, False, "no answer")
        home.ctx.set_available(MOTION.id, False, "no answer")  # not a safety device: no alert
        await home.advance(timedelta(minutes=9))
        assert home.open_alerts() == []
        await home.advance(timedelta(minutes=2))
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.DEVICE_OFFLINE and alert.devices == [SMOKE.id]
        home.ctx.set_available(SMOKE.id, True)
        await home.settle()
        assert home.open_alerts() == []


async def test_heat_from_a_room_temperature_with_hysteresis(tmp_path: Path) -> None:
    kitchen = device("kitchen-climate", "kitchen", ("dhi.temperature", ["temperature"]))
    async with running_home(
        tmp_path, alerts={"rules": {"heat": {"threshold": 60, "hysteresis": 10}}}
    ) as home:
        home.add(kitchen)
        home.set(kitchen, "dhi.temperature", temperature=45.0)
        home.set(kitchen, "dhi.temperature", temperature=59.9)
        await home.settle()
        assert home.open_alerts() == []
        home.set(kitchen, "dhi.temperature", temperature=60)
        await home.settle()
        [alert] = home.open_alerts()
        assert (alert.kind, alert.room, alert.severity) == (AlertKind.HEAT, "kitchen", Severity.SEVERE)
        acked = await home.engine.acknowledge(alert.id, "staff")
        # still hot within the hysteresis band: the condition goes on
        home.set(kitchen, "dhi.temperature", temperature=52.0)
        home.set(kitchen, "dhi.temperature", temperature=None)
        await home.settle()
        assert home.engine.get_alert(acked.id).state is AlertState.ACKNOWLEDGED  # type: ignore[union-attr]
        home.set(kitchen, "dhi.temperature", temperature=49.5)
        await home.settle()
        assert home.engine.get_alert(acked.id).state is AlertState.CLEARED  # type: ignore[union-attr]


async def test_heat_rule_defaults_and_can_be_disabled(tmp_path: Path) -> None:
    kitchen = device("kitchen-climate", "kitchen", ("dhi.temperature", ["temperature"]))
    async with running_home(tmp_path, alerts={"rules": {"heat": {"enabled": False}}}) as home:
        home.add(kitchen)
        home.set(kitchen, "dhi.temperature", temperature=90.0)
        await home.settle()
        assert home.open_alerts() == []
    async with running_home(tmp_path / "b") as home:
        home.add(kitchen)
        home.set(kitchen, "dhi.temperature", temperature=56.9)
        await home.settle()
        assert home.open_alerts() == []
        home.set(kitchen, "dhi.temperature", temperature=57.0)  # fixed-temperature heat detectors
        await home.settle()
        assert [a.kind for a in home.open_alerts()] == [AlertKind.HEAT]


async def test_low_battery_on_safety_devices_only(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(SMOKE)
        home.set(SMOKE, "dhi.battery", percentage=40)
        await home.settle()
        assert home.open_alerts() == []
        home.set(SMOKE, "dhi.battery", percentage=9)
        home.set(SMOKE, "dhi.battery", low=True)
        await home.settle()
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.LOW_BATTERY and alert.count == 2
        home.set(SMOKE, "dhi.battery", percentage=100, low=False)  # new battery
        await home.settle()
        assert home.open_alerts() == []


async def test_inactivity_needs_a_sign_of_life_first_then_alerts_after_the_window(tmp_path: Path) -> None:
    rules = {"inactivity": {"windows": [{"start": "00:00", "end": "00:00", "max_quiet": "12h"}]}}
    async with running_home(tmp_path, alerts={"rules": rules}) as home:
        home.add(MOTION)
        home.set(MOTION, "dhi.motion", motion=False)
        await home.advance(timedelta(hours=30))
        assert home.open_alerts() == []  # nobody was ever seen: nothing to miss
        home.set(MOTION, "dhi.motion", motion=True)
        home.set(MOTION, "dhi.motion", motion=False)
        await home.advance(timedelta(hours=11, minutes=59))
        assert home.open_alerts() == []
        await home.advance(timedelta(minutes=2))
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.INACTIVITY and "12h" in (alert.summary or "")
        # she gets up: the alert is restored but stays until staff acknowledge it
        home.set(MOTION, "dhi.motion", motion=True)
        await home.settle()
        assert home.engine.get_alert(alert.id).state is AlertState.ACTIVE  # type: ignore[union-attr]
        assert (await home.engine.acknowledge(alert.id, "staff")).state is AlertState.CLEARED


async def test_inactivity_windows_follow_the_time_of_day(tmp_path: Path) -> None:
    # 10:00 local at the start; during the day 2 h of quiet is too much, at night 10 h is fine
    rules = {
        "inactivity": {
            "windows": [
                {"start": "08:00", "end": "20:00", "max_quiet": "2h"},
                {"start": "20:00", "end": "08:00", "max_quiet": "10h"},
            ]
        }
    }
    async with running_home(tmp_path, alerts={"rules": rules}) as home:
        home.add(MOTION)
        home.clock.advance(timedelta(hours=9))  # 19:00 local
        home.set(MOTION, "dhi.motion", motion=True)
        await home.advance(timedelta(hours=1, minutes=30))  # 20:30: night rules now
        await home.advance(timedelta(hours=3))  # 23:30: 4.5 h quiet, fine at night
        assert home.open_alerts() == []
        await home.advance(timedelta(hours=6))  # 05:30: 10.5 h quiet
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.INACTIVITY


async def test_fall_event_then_confirmed_state_is_one_alert(tmp_path: Path) -> None:
    async with running_home(tmp_path) as home:
        home.add(FALL)
        home.event(FALL, "dhi.fall_detection", "fall_detected", confidence="suspected")
        home.set(FALL, "dhi.fall_detection", state="suspected")
        home.set(FALL, "dhi.fall_detection", state="fallen")
        await home.settle()
        [alert] = home.open_alerts()
        assert (alert.kind, alert.room, alert.count) == (AlertKind.FALL, "bathroom", 2)


async def test_disabled_and_filtered_rules(tmp_path: Path) -> None:
    rules = {"smoke": {"enabled": False}, "gas_leak": {"rooms": ["garage"]}}
    async with running_home(tmp_path, alerts={"rules": rules}) as home:
        home.add(SMOKE, GAS)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        home.set(GAS, "dhi.gas_leak", gas=True)
        await home.settle()
        assert home.open_alerts() == []


async def test_open_alerts_survive_a_restart_without_being_raised_again(tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_home(tmp_path, clock=clock) as home:
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        [alert] = home.open_alerts()
    clock.advance(timedelta(minutes=1))
    async with running_home(tmp_path, clock=clock) as home:
        sub = home.hub.bus.subscribe("t", maxsize=1000)
        [again] = home.open_alerts()
        assert again.id == alert.id and again.state is AlertState.ACTIVE
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)  # the adapter re-reports after the restart
        await home.settle()
        raised = [m for m in iter(sub.get_nowait, None) if m.type == MessageType.ALERT_RAISED]
        assert raised == [] and len(home.open_alerts()) == 1
        home.set(SMOKE, "dhi.smoke_alarm", smoke=False)
        await home.settle()
        assert (await home.engine.acknowledge(alert.id, "staff")).state is AlertState.CLEARED


async def test_an_event_already_counted_by_an_open_alert_is_not_counted_again(tmp_path: Path) -> None:
    """A broker redelivers an unacknowledged SOS press after a crash: same device, same time."""
    async with running_home(tmp_path, alerts={"escalation": {"enabled": False}}) as home:
        home.add(SOS)
        pressed_at = home.clock.now()
        for _ in range(3):
            assert home.ctx.publish_event(SOS.id, "dhi.sos", "pressed", {"kind": "panic"}, time=pressed_at)
        await home.settle()
        [alert] = home.open_alerts()
        assert alert.count == 1
        await home.advance(timedelta(seconds=5))
        home.event(SOS, "dhi.sos", "pressed", kind="panic")  # a new press
        await home.settle()
        [alert] = home.open_alerts()
        assert alert.count == 2


async def test_changes_no_rule_reads_skip_the_queue_and_cool_readings_change_nothing(tmp_path: Path) -> None:
    """Ingestion's cheap path through the engine (issue 23): a humidity never enters its queue;
    a bulk temperature below the heat limit with no heat alert open is passed over, but the
    same reading ends an open heat alert."""
    climate = device(
        "bedroom-climate", "bedroom", ("dhi.temperature", ["temperature"]), ("dhi.humidity", ["humidity"])
    )
    async with running_home(
        tmp_path, alerts={"rules": {"heat": {"threshold": 60, "hysteresis": 10}}}
    ) as home:
        home.add(climate)
        sub = home.engine._sub
        assert sub is not None
        queued = sub.delivered + sub.depth
        for i in range(20):
            home.set(climate, "dhi.humidity", humidity=40.0 + i)
        assert sub.delivered + sub.depth == queued  # none of them queued
        for t in (20.0, 35.5, 49.9):
            home.set(climate, "dhi.temperature", temperature=t)
        await home.settle()
        assert home.open_alerts() == []
        home.set(climate, "dhi.temperature", temperature=61.0)
        await home.settle()
        [alert] = home.open_alerts()
        assert alert.kind is AlertKind.HEAT
        await home.engine.acknowledge(alert.id, "staff")  # heat latches until acknowledged
        home.set(climate, "dhi.temperature", temperature=40.0)  # bulk, below: ends it
        await home.settle()
        assert home.open_alerts() == []


async def test_bulk_readings_wait_while_safety_work_is_in_flight_elsewhere(tmp_path: Path) -> None:
    """While a give-way source says safety work is in flight (the outbox delivering a fresh
    alert), the engine leaves bulk readings queued — each step of that work waits for a loop
    turn, which would carry a batch of them — and still takes a smoke alarm at once; once the
    work is done every bulk reading is handled (adapters/sdk/giveway.py)."""
    from adapters.sdk.giveway import GIVE_WAY

    kitchen = device("kitchen-climate", "kitchen", ("dhi.temperature", ["temperature"]))
    in_flight = {"safety": False}
    remove = GIVE_WAY.add_source(lambda: in_flight["safety"])
    try:
        async with running_home(tmp_path) as home:
            home.add(kitchen, SMOKE)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=False)
            await home.settle()
            sub = home.engine._sub
            assert sub is not None
            in_flight["safety"] = True
            for i in range(3000):  # more than a few batches: a hold that ran out still leaves some
                home.set(kitchen, "dhi.temperature", temperature=20 + i / 1000)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
            async with asyncio.timeout(15):  # the smoke alarm is taken; then bulk waits
                while not (home.open_alerts() and home.engine.bulk_holds):
                    await asyncio.sleep(0.002)
            assert [a.kind for a in home.open_alerts()] == [AlertKind.SMOKE]
            assert sub.depth > 0  # the bulk readings still wait
            in_flight["safety"] = False
            await home.settle()
            assert sub.depth == 0
    finally:
        remove()
