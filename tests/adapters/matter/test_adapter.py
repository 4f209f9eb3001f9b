"""The adapter's live behaviour on messages the real server cannot produce for test nodes
(pushed attribute updates, node events, other schema versions), against FakeMatterServer."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.matter import MatterAdapter, MatterConfig
from adapters.matter.connection import Backoff, MatterClient, MatterConnection
from adapters.matter.node import normalize_node
from adapters.matter.protocol import UnsupportedSchema
from dhi.models import CommandRequest
from tests.adapters.matter.fake_server import SILENT, FakeMatterServer
from tests.adapters.matter.support import load
from tests.support.recording import RecordingContext

WAIT = 10.0  # guards against a hang; no test asserts on elapsed time


async def until(check: Callable[[], Any], what: str) -> Any:
    try:
        async with asyncio.timeout(WAIT):
            while not (result := check()):
                await asyncio.sleep(0.01)
            return result
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def node(name: str, node_id: int) -> dict[str, Any]:
    data = normalize_node(load(name))
    data["node_id"] = node_id
    return data


@pytest.fixture
async def fake() -> AsyncIterator[FakeMatterServer]:
    server = FakeMatterServer(
        [
            node("mock_temperature_sensor.json", 1),
            node("mock_generic_switch.json", 2),
            node("heiman_smoke_detector.json", 3),
            node("pms_fake-bridge-two-light.json", 4),
            node("mock_on_off_plugin_unit.json", 5),
        ]
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def live(fake: FakeMatterServer) -> AsyncIterator[tuple[MatterAdapter, RecordingContext]]:
    ctx = RecordingContext(adapter="matter")
    adapter = MatterAdapter(
        MatterConfig(url=fake.url, reconnect_initial=0.01, reconnect_max=0.05, command_timeout=2)
    )
    await adapter.start(ctx)
    await until(lambda: "matter:5" in ctx.devices, "the initial nodes")
    yield adapter, ctx
    await adapter.stop()
    for task in ctx.tasks:
        task.cancel()
    await asyncio.gather(*ctx.tasks, return_exceptions=True)


# ---------------------------------------------------------------- schema versions


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (
            {"schema_version": 8, "min_supported_schema_version": 5},
            "speaks schema version 8, this adapter needs at least 11",
        ),
        (
            {"schema_version": 14, "min_supported_schema_version": 12},
            "requires clients of schema version >= 12",
        ),
    ],
)
async def test_unsupported_schema_is_a_clear_error(info: dict[str, int], message: str) -> None:
    server = FakeMatterServer(**info)
    await server.start()
    try:
        with pytest.raises(UnsupportedSchema, match=message):
            async with MatterConnection(server.url):
                pass

        async def nothing(*_: Any) -> None:
            return None

        client = MatterClient(server.url, on_nodes=nothing, on_event=nothing, on_lost=nothing)
        with pytest.raises(UnsupportedSchema):  # not retried: another attempt cannot help
            await asyncio.wait_for(client.run(), WAIT)
        assert server.connections == 2
    finally:
        await server.stop()


async def test_unreachable_server_is_retried(fake: FakeMatterServer) -> None:
    port = fake.port
    await fake.stop()
    lost: list[str] = []

    async def on_lost(reason: str) -> None:
        lost.append(reason)

    async def nothing(*_: Any) -> None:
        return None

    client = MatterClient(
        f"ws://127.0.0.1:{port}/ws",
        on_nodes=nothing,
        on_event=nothing,
        on_lost=on_lost,
        backoff=Backoff(0.01, 0.02),
    )
    task = asyncio.create_task(client.run())
    await until(lambda: len(lost) >= 2, "two failed attempts")
    assert "cannot connect" in lost[0]
    await fake.start(port)
    await until(lambda: client.connected, "the connection once the server is back")
    assert client.backoff.failures == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_backoff_grows_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=4, jitter=0.1)
    delays = [backoff.next_delay(lambda: 0.5) for _ in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert 0.45 <= Backoff(0.5, jitter=0.1).next_delay(lambda: 0.0) <= 0.5
    backoff.reset()
    assert backoff.next_delay(lambda: 0.5) == 0.5


# ---------------------------------------------------------------- server -> hub


async def test_attribute_update_becomes_state(fake: FakeMatterServer, live: Any) -> None:
    _adapter, ctx = live
    assert ctx.state_of("matter:1", "dhi.temperature", "ep1") == {"temperature": 21.0}
    await fake.push("attribute_updated", [1, "1/1026/0", 2250])
    await until(lambda: ctx.state_of("matter:1", "dhi.temperature", "ep1") == {"temperature": 22.5}, "22.5")
    await fake.push("attribute_updated", [1, "1/1026/0", None])  # nullable: unknown again
    await until(
        lambda: ctx.states[-1] == ("matter:1", "ep1", "dhi.temperature", {"temperature": None}), "null"
    )


async def test_bad_messages_are_reported_and_change_nothing_else(fake: FakeMatterServer, live: Any) -> None:
    _adapter, ctx = live
    await fake.send_raw("not json")
    await fake.push("attribute_updated", [99, "1/6/0", True])  # unknown node
    await fake.push("attribute_updated", [1, "1/1026/0", "hot"])  # wrong type
    await fake.push("attribute_updated", [1, "garbage", 1])  # bad path
    await fake.push("node_added", {"node_id": "x"})  # not a node
    await fake.push("attribute_updated", [1, "1/1026/0", 1999])
    await until(
        lambda: ctx.state_of("matter:1", "dhi.temperature", "ep1") == {"temperature": 19.99},
        "the next good update",
    )
    assert len(ctx.invalid) == 4, ctx.invalid
    assert any("unknown node 99" in r.reason for r in ctx.invalid)
    assert any("1/1026/0 = 'hot'" in r.reason for r in ctx.invalid)


async def test_button_and_alarm_events(fake: FakeMatterServer, live: Any) -> None:
    _adapter, ctx = live

    def event(node_id: int, ep: int, cluster: int, event_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "node_id": node_id,
            "endpoint_id": ep,
            "cluster_id": cluster,
            "event_id": event_id,
            "event_number": 1,
            "priority": 1,
            "timestamp": 0,
            "timestamp_type": 0,
            "data": data,
        }

    await fake.push("node_event", event(2, 1, 0x3B, 3, {"previousPosition": 1}))  # ShortRelease
    await fake.push("node_event", event(3, 1, 0x5C, 0, {"alarmSeverityLevel": 2}))  # SmokeAlarm critical
    await fake.push("node_event", event(3, 1, 0x5C, 10, {}))  # AllClear
    await until(lambda: len(ctx.events) == 3, "three events")
    assert ctx.events == [
        ("matter:2", "ep1", "dhi.button", "pressed", {}),
        ("matter:3", "ep1", "dhi.smoke_alarm", "alarm", {"severity": "critical"}),
        ("matter:3", "ep1", "dhi.smoke_alarm", "cleared", {}),
    ]


async def test_node_lifecycle(fake: FakeMatterServer, live: Any) -> None:
    _adapter, ctx = live
    # a bridged lamp that the bridge reports unreachable is unavailable on its own
    await fake.push("attribute_updated", [4, "10/57/17", False])
    await until(
        lambda: ("matter:4-10", False, "the bridge reports this device unreachable") in ctx.availability,
        "lamp",
    )
    assert ("matter:4-9", False, "the bridge reports this device unreachable") not in ctx.availability
    # an endpoint goes away: the device is described again without it
    await fake.push("endpoint_removed", {"node_id": 5, "endpoint_id": 1})
    await until(lambda: [c.id for c in ctx.devices["matter:5"].components] == ["ep0"], "ep1 gone")
    # the node becomes unavailable, then is removed
    updated = copy.deepcopy(fake.nodes[0])
    updated["available"] = False
    await fake.push("node_updated", updated)
    await until(lambda: ("matter:1", False, "Matter node is not reachable") in ctx.availability, "offline")
    await fake.push("node_removed", 1)
    await until(lambda: "matter:1" in ctx.removed, "removal")
    assert "matter:1" not in ctx.devices


async def test_descriptor_change_remaps_the_node(fake: FakeMatterServer, live: Any) -> None:
    _adapter, ctx = live
    assert "ep2" not in {c.id for c in ctx.devices["matter:1"].components}
    for path, value in [("2/29/0", [{"0": 0x0307, "1": 1}]), ("2/1029/0", 4550)]:
        await fake.push("attribute_updated", [1, path, value])
    await until(lambda: "ep2" in {c.id for c in ctx.devices["matter:1"].components}, "the new endpoint")
    await until(lambda: ctx.state_of("matter:1", "dhi.humidity", "ep2") == {"humidity": 45.5}, "its humidity")


async def test_connection_loss_marks_devices_unavailable(fake: FakeMatterServer, live: Any) -> None:
    adapter, ctx = live
    await fake.drop()
    await until(
        lambda: any(
            d == "matter:1" and not ok and "unreachable" in (r or "") for d, ok, r in ctx.availability
        ),
        "offline",
    )
    await until(lambda: adapter.client.sessions == 2, "the reconnect")
    await until(lambda: ctx.availability[-1][1] is True, "back online")


# ---------------------------------------------------------------- hub -> server


def request(device: str, component: str, capability: str, command: str, **params: Any) -> CommandRequest:
    return CommandRequest(
        id="c1", device=device, component=component, capability=capability, command=command, params=params
    )


async def test_commands_reach_the_server_converted(fake: FakeMatterServer, live: Any) -> None:
    adapter, _ctx = live
    result = await adapter.execute(
        request("matter:5", "ep1", "dhi.level", "set_level", level=50, transition_time=1.5)
    )
    assert result.status == "ok" and result.result is None
    sent = fake.commands[-1]
    assert sent["command"] == "device_command"
    assert sent["args"] == {
        "node_id": 5,
        "endpoint_id": 1,
        "cluster_id": 8,
        "command_name": "MoveToLevelWithOnOff",
        "payload": {"level": 127, "transitionTime": 15, "optionsMask": 0, "optionsOverride": 0},
    }
    fake.answers["device_command"] = {"status": 0}
    result = await adapter.execute(request("matter:4-9", "ep9", "dhi.on_off", "set", on=False))
    assert result.status == "ok" and result.result == {"response": {"status": 0}}
    assert fake.commands[-1]["args"]["command_name"] == "Off" and fake.commands[-1]["args"]["node_id"] == 4
    result = await adapter.execute(
        request("matter:5", "ep1", "dhi.power_on_behavior", "set", behavior="toggle")
    )
    assert result.status == "ok"
    assert fake.commands[-1] == {
        "message_id": fake.commands[-1]["message_id"],
        "command": "write_attribute",
        "args": {"node_id": 5, "attribute_path": "1/6/16387", "value": 2},
    }


async def test_server_errors_and_bad_requests(fake: FakeMatterServer, live: Any) -> None:
    adapter, _ctx = live
    fake.answers["device_command"] = {"error_code": 8, "details": "Invalid arguments"}
    result = await adapter.execute(request("matter:5", "ep1", "dhi.on_off", "toggle"))
    assert result.status == "error" and result.error is not None
    assert result.error.code == "adapter_error"
    assert (
        result.error.message
        == "Matter server rejected device_command: InvalidArguments (code 8): Invalid arguments"
    )
    cases = [
        (request("matter:77", "ep1", "dhi.on_off", "on"), "unknown_device"),
        (request("matter:5", "ep1", "dhi.color", "set_hs", hue=1, saturation=2), "unknown_capability"),
        (request("matter:5", "ep1", "dhi.on_off", "blink"), "unknown_command"),
        (request("matter:5", "ep1", "dhi.level", "set", nope=1), "unknown_property"),
        (request("matter:5", "ep1", "dhi.level", "set", min_level=3), "not_writable"),
        (request("matter:5", "ep1", "dhi.level", "set_level"), "invalid_params"),
        (request("matter:5", "ep1", "dhi.level", "set_level", level=180), "invalid_params"),
    ]
    for req, code in cases:
        result = await adapter.execute(req)
        assert result.status == "error" and result.error is not None and result.error.code == code, (
            req,
            result,
        )


async def test_no_answer_is_a_timeout(fake: FakeMatterServer) -> None:
    ctx = RecordingContext(adapter="matter")
    adapter = MatterAdapter(MatterConfig(url=fake.url, command_timeout=0.2))
    await adapter.start(ctx)
    try:
        await until(lambda: "matter:5" in ctx.devices, "the nodes")
        fake.answers["device_command"] = SILENT
        req = request("matter:5", "ep1", "dhi.on_off", "on")
        result = await adapter.execute(req)
        assert result.status == "error" and result.error is not None and result.error.code == "timeout"
    finally:
        await adapter.stop()
        for task in ctx.tasks:
            task.cancel()
        await asyncio.gather(*ctx.tasks, return_exceptions=True)


def test_map_offline_matches_the_report_shape() -> None:
    mappings = MatterAdapter.map_offline({"data": {"node": load("heiman_smoke_detector.json")}})
    assert [m.id for m in mappings] == ["matter:11"]
    assert json.loads(mappings[0].model_dump_json())["unmapped"] == []
