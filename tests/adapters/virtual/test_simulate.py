"""Scenarios played by ``hub.cli.simulate`` at high speed: every scripted change, in order, at its time."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.virtual.scenario import (
    FireEvent,
    Scenario,
    SetAvailable,
    SetState,
    available_scenarios,
    load_scenario,
)
from dhi.catalog import default_catalog
from dhi.models.alert import AlertKind
from hub.cli.simulate import HeldClock, SimulationResult, simulate, simulation_config
from hub.clock import Clock
from hub.config import AdapterEntry, HomeConfig, HubConfig
from tests.adapters.virtual.support import drain, running_hub

CATALOG = default_catalog()
SCENARIOS = available_scenarios()
REQUIRED = {
    "normal_day",
    "kitchen_fire",
    "gas_leak",
    "water_leak",
    "elderly_fall",
    "inactivity_12h",
    "night_wander",
    "smoke_alarm_battery_dying",
}
#: each scenario plays in about this many real seconds
WALL_SECONDS = 0.5


@dataclass(frozen=True)
class Change:
    device: str
    component: str
    capability: str
    prop: str
    value: Any
    time: datetime


@dataclass(frozen=True)
class Occurrence:
    device: str
    capability: str
    event: str
    payload: dict[str, Any]
    time: datetime


def expected(scenario: Scenario) -> tuple[list[Change], list[Occurrence], dict[str, Any]]:
    """What the hub must see: the home's initial state, changed by each step in turn."""
    state = {
        native: copy.deepcopy({k: dict(v) for k, v in t.initial.items()})
        for native, t in scenario.home.devices.items()
    }
    changes: list[Change] = []
    events: list[Occurrence] = []
    for step in scenario.steps:
        when = scenario.start + step.offset
        device = f"virtual:{step.device}"
        match step.action:
            case SetState(properties=props):
                assert step.capability is not None
                values = state[step.device][(step.component, step.capability)]
                for name, value in props.items():
                    if values.get(name) != value or type(values.get(name)) is not type(value):
                        changes.append(Change(device, step.component, step.capability, name, value, when))
                    values[name] = value
            case FireEvent(event=event, payload=payload):
                assert step.capability is not None
                events.append(Occurrence(device, step.capability, event, dict(payload), when))
            case SetAvailable():
                pass
    return changes, events, state


def speed_for(scenario: Scenario) -> float:
    return scenario.duration.total_seconds() / WALL_SECONDS


def test_the_required_scenarios_exist() -> None:
    assert set(SCENARIOS) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
async def test_scenario_plays_its_steps_in_order_at_their_hub_times(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name, CATALOG)
    seen: list[Any] = []
    result = await simulate(Path(name), speed=speed_for(scenario), data_dir=tmp_path, on_event=seen.append)
    assert [m.seq for m in seen] == [m.seq for m in result.messages]
    assert [m.seq for m in result.messages] == sorted(m.seq for m in result.messages)

    home_devices = {f"virtual:{d}" for d in scenario.home.devices}
    added = result.of_type("org.dhi.v1.device.added")
    assert {m.subject for m in added} == home_devices
    assert all(m.time == scenario.start for m in added)

    changes, events, final = expected(scenario)
    state_msgs = result.of_type("org.dhi.v1.state.changed")
    initial = sum(len(values) for t in scenario.home.devices.values() for values in t.initial.values())
    assert all(m.time == scenario.start and m.data.previous is None for m in state_msgs[:initial])
    got = [
        Change(m.subject, m.data.component, m.data.capability, m.data.property, m.data.value, m.time)
        for m in state_msgs[initial:]
    ]
    assert got == changes
    got_events = [
        Occurrence(m.subject, m.data.capability, m.data.event, m.data.payload, m.time)
        for m in result.of_type("org.dhi.v1.event.occurred")
    ]
    assert got_events == events

    for native, values in final.items():
        for (component, capability), props in values.items():
            assert result.state[f"virtual:{native}"][component][capability] == props

    offline = [s for s in scenario.steps if isinstance(s.action, SetAvailable)]
    avail_msgs = result.of_type("org.dhi.v1.device.availability")
    assert [(m.subject, m.data.available) for m in avail_msgs] == [
        (f"virtual:{s.device}", s.action.available) for s in offline if isinstance(s.action, SetAvailable)
    ]
    for msg, step in zip(avail_msgs, offline, strict=True):
        assert msg.time >= scenario.start + step.offset
    for step in offline:
        assert isinstance(step.action, SetAvailable)
        assert result.available[f"virtual:{step.device}"] is step.action.available

    assert result.started == scenario.start
    assert result.ended >= scenario.start + scenario.duration


def test_expected_alerts_name_known_kinds_rooms_and_devices() -> None:
    for name in REQUIRED:
        scenario = load_scenario(name, CATALOG)
        for alert in scenario.expect.alerts:
            assert alert.kind in AlertKind
            assert alert.room is None or alert.room in scenario.home.rooms
    assert load_scenario("normal_day", CATALOG).expect.alerts == []
    kinds = {name: {a.kind for a in load_scenario(name, CATALOG).expect.alerts} for name in REQUIRED}
    assert kinds["kitchen_fire"] == {AlertKind.SMOKE}
    assert kinds["gas_leak"] == {AlertKind.GAS_LEAK}
    assert kinds["water_leak"] == {AlertKind.WATER_LEAK}
    assert AlertKind.FALL in kinds["elderly_fall"]
    assert kinds["inactivity_12h"] == {AlertKind.INACTIVITY}
    assert kinds["night_wander"] == {AlertKind.NIGHT_ACTIVITY}
    assert kinds["smoke_alarm_battery_dying"] == {AlertKind.LOW_BATTERY, AlertKind.DEVICE_OFFLINE}


def test_inactivity_scenario_is_silent_for_twelve_hours() -> None:
    """After the last motion/door/water/power step nothing but sensor readings happens for 12 h."""
    scenario = load_scenario("inactivity_12h", CATALOG)
    activity = {
        "dhi.motion",
        "dhi.contact",
        "dhi.water_meter",
        "dhi.presence",
        "dhi.power",
        "dhi.bed_occupancy",
    }
    active = [s for s in scenario.steps if s.capability in activity]
    quiet_from = max(s.offset for s in active)
    assert scenario.duration - quiet_from >= timedelta(hours=12)


def test_night_wander_happens_at_three_in_the_morning() -> None:
    scenario = load_scenario("night_wander", CATALOG)
    door = [s for s in scenario.steps if s.device == "entrance-door"]
    local = [(scenario.start + s.offset).astimezone(scenario.start.tzinfo) for s in door]
    assert local and all(t.hour == 3 for t in local)


# ------------------------------------------------------------------ the result's expectation check


def fake_alert(kind: str, room: str | None, device: str, at: datetime) -> Any:
    from dhi.models import Alert

    return Alert(
        id=f"a-{kind}", kind=kind, severity="Severe", home="demo", room=room, devices=[device],
        first_seen=at, last_seen=at,
    )  # fmt: skip


def test_missing_and_unexpected_alerts() -> None:
    scenario = load_scenario("kitchen_fire", CATALOG)
    start = scenario.start
    base = SimulationResult(scenario, [], {}, {}, start, start + scenario.duration)
    assert [a.kind for a in base.missing_alerts()] == [AlertKind.SMOKE]
    assert not base.expectations_met
    late = fake_alert("smoke", "kitchen", "virtual:kitchen-smoke", start + timedelta(minutes=45))
    ontime = fake_alert("smoke", "kitchen", "virtual:kitchen-smoke", start + timedelta(minutes=29))
    wrong_room = fake_alert("smoke", "bedroom", "virtual:kitchen-smoke", start + timedelta(minutes=29))
    extra = fake_alert("gas_leak", "kitchen", "virtual:kitchen-gas", start)
    assert len(SimulationResult(scenario, [], {}, {}, start, start, [late]).missing_alerts()) == 1
    assert len(SimulationResult(scenario, [], {}, {}, start, start, [wrong_room]).missing_alerts()) == 1
    ok = SimulationResult(scenario, [], {}, {}, start, start, [ontime])
    assert ok.missing_alerts() == [] and ok.expectations_met
    noisy = SimulationResult(scenario, [], {}, {}, start, start, [ontime, extra])
    assert noisy.unexpected_alerts() == [extra] and not noisy.expectations_met


# ------------------------------------------------------------------ config and clock


def test_simulation_config_points_the_virtual_adapter_at_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    fresh = simulation_config(path, None, "Flat")
    assert [(e.type, e.config["scenario"], e.config["timing"]) for e in fresh.adapters] == [
        ("virtual", str(path), "scenario")
    ]
    given = HubConfig(
        home=HomeConfig(id="flat-7"),
        adapters=[
            AdapterEntry(type="zigbee2mqtt", config={"x": 1}),
            AdapterEntry(
                type="virtual", name="sim", config={"all_capabilities": True, "loop": True, "home": "x"}
            ),
        ],
    )
    merged = simulation_config(path, given, "Flat")
    assert merged.home.id == "flat-7"
    assert merged.adapters[0] == given.adapters[0]
    assert merged.adapters[1].name == "sim"
    assert merged.adapters[1].config == {
        "all_capabilities": True, "scenario": str(path), "timing": "scenario", "loop": False,
    }  # fmt: skip
    appended = simulation_config(path, HubConfig(adapters=[given.adapters[0]]), "Flat")
    assert [e.type for e in appended.adapters] == ["zigbee2mqtt", "virtual"]


async def test_held_clock_stands_still_until_released() -> None:
    start = datetime.fromisoformat("2026-01-15T06:00:00+08:00")
    clock = HeldClock(start, speed=3600)
    assert clock.now() == start
    clock.release()
    await clock.sleep(36)  # 36 hub seconds = 10 ms
    elapsed = clock.now() - start
    assert timedelta(seconds=36) <= elapsed < timedelta(hours=1)


# ------------------------------------------------------------------ looping (dhome run --demo)

LOOP = {
    "home": "demo",
    "start": "2026-01-15T08:00:00+08:00",
    "duration": "00:10:00",
    "steps": [
        {"at": "+00:01:00", "device": "living-light", "capability": "dhi.on_off", "set": {"on": True}},
        {"at": "+00:02:00", "device": "sos-button", "capability": "dhi.sos", "event": "pressed"},
    ],
}


async def test_a_looping_scenario_replays_from_the_initial_state(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(LOOP), encoding="utf-8")
    clock = Clock(start=datetime.fromisoformat("2030-01-01T00:00:00+00:00"), speed=6000)  # a round: 0.1 s
    msgs: list[Any] = []
    async with running_hub(tmp_path / "data", {"scenario": str(path), "loop": True}, clock=clock) as (
        hub,
        ad,
    ):
        sub = hub.bus.subscribe("t")
        while sum(str(m.type) == "org.dhi.v1.event.occurred" for m in msgs) < 3:
            msgs.append(await sub.get())
        msgs.extend(drain(sub))
        assert not ad.finished.is_set()
    sos = [m.time for m in msgs if str(m.type) == "org.dhi.v1.event.occurred"]
    # rounds follow each other back to back in hub time
    assert [b - a for a, b in itertools.pairwise(sos)] == [timedelta(minutes=10)] * (len(sos) - 1)
    light = [
        (m.data.value, m.time)
        for m in msgs
        if str(m.type) == "org.dhi.v1.state.changed" and m.subject == "virtual:living-light"
    ]
    # each new round resets the light to off (the home's initial state), and the step turns it on
    resets = [i for i in range(len(light) - 1) if light[i][0] is False and light[i + 1][0] is True]
    assert len(resets) >= 2
    for i in resets:
        assert light[i + 1][1] - light[i][1] == timedelta(minutes=1)
