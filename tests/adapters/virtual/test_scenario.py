"""Scenario and home files: bad ones are rejected with the file, the key path and the reason."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.virtual.errors import HomeError, ScenarioError
from adapters.virtual.home import load_home, parse_home, resolve_home
from adapters.virtual.scenario import (
    FireEvent,
    SetAvailable,
    SetState,
    available_scenarios,
    find_scenario,
    load_scenario,
)
from dhi.catalog import default_catalog
from hub.cli.simulate import simulate

CATALOG = default_catalog()

GOOD: dict[str, Any] = {
    "name": "tiny",
    "home": "demo",
    "start": "2026-01-15T22:00:00+08:00",
    "duration": "08:00:00",
    "steps": [
        {"at": "+00:10:00", "device": "kitchen-smoke", "capability": "dhi.smoke_alarm", "set": {"smoke": True}},
        {"at": "23:00", "device": "kitchen-smoke", "capability": "dhi.smoke_alarm", "event": "alarm",
         "payload": {"severity": "critical"}},
        {"at": "03:00", "device": "virtual:hallway-motion", "capability": "dhi.motion", "set": {"motion": True}},
        {"at": "+06:00:00", "device": "kitchen-smoke", "available": False},
    ],
    "expect": {"alerts": [{"kind": "smoke", "room": "kitchen", "by": "+01:00:00"}]},
}  # fmt: skip


def write(tmp_path: Path, data: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    return path


def test_a_good_scenario_resolves_offsets_and_times_of_day(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, GOOD), CATALOG)
    assert sc.name == "tiny"
    assert sc.duration == timedelta(hours=8)
    assert [s.offset for s in sc.steps] == [
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=5),  # 03:00 after a 22:00 start is the next night
        timedelta(hours=6),
    ]
    assert [s.device for s in sc.steps] == [
        "kitchen-smoke",
        "kitchen-smoke",
        "hallway-motion",
        "kitchen-smoke",
    ]
    assert sc.steps[0].action == SetState({"smoke": True})
    assert sc.steps[1].action == FireEvent("alarm", {"severity": "critical"})
    assert sc.steps[3].action == SetAvailable(False)
    assert (sc.start + sc.steps[2].offset).isoformat() == "2026-01-16T03:00:00+08:00"


def test_every_example_scenario_loads() -> None:
    names = available_scenarios()
    assert names
    for name in names:
        sc = load_scenario(name, CATALOG)
        assert sc.steps and sc.start.utcoffset() is not None


def test_scenarios_are_found_by_name_or_path(tmp_path: Path) -> None:
    by_name = find_scenario("normal_day")
    assert by_name.name == "normal_day.yaml" and by_name.is_file()
    assert find_scenario(Path("normal_day")) == by_name
    assert find_scenario("normal_day.yaml") == by_name
    assert find_scenario(by_name) == by_name
    with pytest.raises(ScenarioError) as err:
        find_scenario("no_such_scenario")
    assert "normal_day" in str(err.value)  # the message lists what exists


def mutate(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one key (dotted path, ints index lists) replaced; value DELETE removes it."""
    data = copy.deepcopy(GOOD)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = data
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

#: (change, path of the problem, words of the message)
BAD: list[tuple[str, Any, str, str]] = [
    ("steps.1.at", "25:00", "steps[1].at", "not a time"),
    ("steps.1.at", 43200, "steps[1].at", "quote times"),
    ("steps.0.at", "+10 minutes", "steps[0].at", "not an offset"),
    ("steps.0.device", "kitchen-toaster", "steps[0].device", "no device 'kitchen-toaster'"),
    ("steps.0.capability", "dhi.lock", "steps[0].capability", "has no capability 'dhi.lock'"),
    ("steps.0.component", "left", "steps[0].component", "no component 'left'"),
    ("steps.0.set", {"smok": True}, "steps[0].set.smok", "no property 'smok'"),
    ("steps.0.set", {"smoke": "yes"}, "steps[0].set.smoke", "wrong type"),
    # a catalog property the device does not implement
    ("steps.0.set", {"end_of_service": True}, "steps[0].set.end_of_service", "no property 'end_of_service'"),
    ("steps.1.event", "explode", "steps[1].event", "no event 'explode'"),
    ("steps.1.payload", {"severity": "apocalyptic"}, "steps[1].payload.severity", "is not one of"),
    ("steps.0.event", "alarm", "steps[0]", "exactly one of set, event, available"),
    ("steps.3.note", "the battery is flat", "", ""),  # still valid: availability needs no capability
    ("steps.0.capability", DELETE, "steps[0]", "name a capability"),
    ("steps.0.payload", {"x": 1}, "steps[0]", "payload is only allowed with event"),
    ("steps.0.set", {}, "steps[0]", "at least one property"),
    ("steps.2.at", "+00:05:00", "steps[2].at", "before the previous step"),
    ("steps.3.at", "+09:00:00", "steps[3].at", "after the end"),
    ("steps.0.colour", "red", "steps[0].colour", "unknown key"),
    ("start", "2026-01-15T22:00:00", "start", "timezone"),
    ("duration", "0s", "duration", "longer than zero"),
    ("duration", "eight hours", "duration", "not a duration"),
    ("expect.alerts.0.kind", "fire", "expect.alerts[0].kind", "'smoke'"),
    ("expect.alerts.0.room", "garage", "expect.alerts[0].room", "unknown room 'garage'"),
    ("expect.alerts.0.by", "+09:00:00", "expect.alerts[0].by", "after the end"),
    ("home", "no-such-home", "home", "is invalid"),
    ("steps", "none", "steps", "valid list"),
]


@pytest.mark.parametrize(
    ("change", "value", "where", "words"),
    BAD,
    ids=[f"{c}={v!r}" if v is not DELETE else f"{c} deleted" for c, v, _w, _m in BAD],
)
def test_a_bad_scenario_is_rejected_precisely(
    tmp_path: Path, change: str, value: Any, where: str, words: str
) -> None:
    path = write(tmp_path, mutate(change, value))
    if not where:
        load_scenario(path, CATALOG)
        return
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, CATALOG)
    first = err.value.problems[0]
    assert first.source == str(path)
    assert first.path == where, str(err.value)
    assert words in first.message, str(err.value)
    assert f"{path}: {where}: " in str(err.value)


def test_an_unquoted_on_key_gets_a_hint(tmp_path: Path) -> None:
    text = yaml.safe_dump(GOOD).replace(
        "steps:\n",
        "steps:\n- {at: '+00:01:00', device: living-light, capability: dhi.on_off, set: {on: true}}\n",
        1,
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, text), CATALOG)
    problem = err.value.problems[0]
    assert problem.path == "steps[0].set"
    assert "key True is not a string" in problem.message and 'write "on"' in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = mutate("steps.0.device", "toaster")
    data["steps"][1]["event"] = "explode"
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, data), CATALOG)
    assert [p.path for p in err.value.problems] == ["steps[0].device", "steps[1].event"]


def test_yaml_errors_and_missing_files_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "home: demo\nsteps: [\n  - {at: '+00:01:00'\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, CATALOG)
    assert err.value.problems[0].source == str(path)
    assert err.value.problems[0].path.startswith("line ")
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        load_scenario(write(tmp_path, "- just\n- a list\n", "list.yaml"), CATALOG)
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario(tmp_path / "missing" / "x.yaml", CATALOG)


async def test_simulate_rejects_a_bad_scenario_before_starting_a_hub(tmp_path: Path) -> None:
    path = write(tmp_path, mutate("steps.0.device", "toaster"))
    with pytest.raises(ScenarioError, match=r"steps\[0\]\.device"):
        await simulate(path, speed=1000, data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_a_scenario_may_use_its_own_home_file(tmp_path: Path) -> None:
    home = {
        "name": "Studio",
        "rooms": [{"id": "main_room", "name": "Room"}],
        "devices": [
            {
                "id": "lamp",
                "name": "Lamp",
                "room": "main_room",
                "components": [{"capabilities": ["dhi.on_off"]}],
            }
        ],
    }
    write(tmp_path, home, "studio.yaml")
    scenario = {
        "home": "studio.yaml",
        "start": "2026-01-15T08:00:00+08:00",
        "duration": "1h",
        "steps": [{"at": "+5m", "device": "lamp", "capability": "dhi.on_off", "set": {"on": True}}],
    }
    sc = load_scenario(write(tmp_path, scenario), CATALOG)
    assert list(sc.home.devices) == ["lamp"]
    assert sc.steps[0].offset == timedelta(minutes=5)
    assert sc.name == "scenario"


# ------------------------------------------------------------------ home files

HOME: dict[str, Any] = {
    "name": "Flat",
    "rooms": [{"id": "kitchen", "name": "Kitchen"}],
    "devices": [
        {
            "id": "smoke",
            "name": "Smoke alarm",
            "room": "kitchen",
            "components": [
                {
                    "capabilities": ["dhi.smoke_alarm", {"id": "dhi.battery", "properties": ["percentage"]}],
                    "state": {"dhi.battery": {"percentage": 50}},
                }
            ],
        }
    ],
}

BAD_HOMES: list[tuple[str, Any, str, str]] = [
    ("devices.0.room", "garage", "devices[0].room", "unknown room 'garage'"),
    ("devices.0.id", "Smoke Alarm", "devices[0].id", "pattern"),
    ("devices.0.components.0.capabilities", ["dhi.smoke"], "devices[0].components[0].capabilities[0].id",
     "not in the DHI catalog"),
    ("devices.0.components.0.state", {"dhi.lock": {"locked": True}}, "devices[0].components[0].state.dhi.lock",
     "not a capability of this component"),
    ("devices.0.components.0.state", {"dhi.battery": {"voltage": 3}},
     "devices[0].components[0].state.dhi.battery.voltage", "no property 'voltage'"),
    ("devices.0.components.0.state", {"dhi.battery": {"percentage": 120}},
     "devices[0].components[0].state.dhi.battery.percentage", "outside 0..100"),
    ("devices.0.components", [], "devices[0].components", "at least 1"),
    ("rooms.0.colour", "red", "rooms[0].colour", "unknown key"),
    ("name", DELETE, "name", "required key is missing"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "value", "where", "words"), BAD_HOMES, ids=[c for c, *_ in BAD_HOMES])
def test_a_bad_home_is_rejected_precisely(change: str, value: Any, where: str, words: str) -> None:
    data = copy.deepcopy(HOME)
    *parents, last = [int(p) if p.isdigit() else p for p in change.split(".")]
    node: Any = data
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    with pytest.raises(HomeError) as err:
        parse_home(data, CATALOG, "flat.yaml")
    first = err.value.problems[0]
    assert (first.source, first.path) == ("flat.yaml", where), str(err.value)
    assert words in first.message, str(err.value)


def test_duplicate_devices_and_rooms_are_rejected() -> None:
    data = copy.deepcopy(HOME)
    data["devices"].append(copy.deepcopy(data["devices"][0]))
    data["rooms"].append({"id": "kitchen", "name": "Again"})
    with pytest.raises(HomeError) as err:
        parse_home(data, CATALOG, "flat.yaml")
    assert [p.path for p in err.value.problems] == ["rooms[1].id", "devices[1].id"]


def test_the_builtin_demo_home_is_found_by_name() -> None:
    path = resolve_home("demo")
    assert path.name == "demo.yaml" and path.is_file()
    home = load_home(path, CATALOG)
    assert set(home.rooms) == {"living_room", "bedroom", "kitchen", "bathroom", "hallway"}
    assert resolve_home("flat.yaml", Path("/x")) == Path("/x/flat.yaml")
