"""Commands are validated against the catalog before reaching an adapter; every failure is precise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dhi.catalog import default_catalog
from dhi.errors import HubError
from dhi.models import CommandRequest
from hub.commands import validate_command
from hub.consent import audit
from hub.core import Hub

CASES: list[tuple[dict[str, Any], str, str | None]] = [
    ({"device": "toy:nope", "capability": "dhi.on_off", "command": "toggle"}, "unknown_device", "device"),
    ({"device": "toy:lamp0", "component": "ep9", "capability": "dhi.on_off", "command": "toggle"},
     "unknown_component", "component"),
    ({"device": "toy:lamp0", "capability": "dhi.smoke_alarm", "command": "self_test"}, "unknown_capability", "capability"),
    ({"device": "toy:lamp0", "capability": "dhi.on_off", "command": "explode"}, "unknown_command", "command"),
    ({"device": "toy:lamp0", "capability": "dhi.on_off", "command": "set", "params": {"brightness": 1}},
     "unknown_property", "params.brightness"),
    ({"device": "toy:lamp0", "capability": "dhi.on_off", "command": "set", "params": {}}, "invalid_params", "params"),
    ({"device": "toy:lamp0", "capability": "dhi.on_off", "command": "set", "params": {"on": "yes"}},
     "invalid_params", "params.on"),
    ({"device": "toy:lamp0", "capability": "dhi.level", "command": "set", "params": {"level": 140}},
     "out_of_range", "params.level"),
    ({"device": "toy:lamp0", "capability": "dhi.level", "command": "set", "params": {"min_level": 3}},
     "unknown_property", "params.min_level"),  # not in the instance's supported subset
    ({"device": "toy:lamp0", "capability": "dhi.on_off", "command": "toggle", "params": {"x": 1}},
     "invalid_params", "params"),
]  # fmt: skip


@pytest.mark.parametrize(("cmd", "code", "field"), CASES, ids=[c[1] + ":" + str(c[2]) for c in CASES])
async def test_each_validation_failure_has_its_precise_error(
    toy_hub: Hub, cmd: dict[str, Any], code: str, field: str | None
) -> None:
    adapter = toy_hub.supervisor.target("toy")
    before = dict(adapter.on)
    result = await toy_hub.execute(CommandRequest(id="c-1", **cmd))
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.code, result.error.field) == (code, field), result.error
    assert result.error.message
    assert adapter.on == before, "an invalid command must never reach the adapter"


async def test_unavailable_device_is_refused(toy_hub: Hub) -> None:
    toy_hub.registry.set_available("toy:lamp0", False, "test")
    result = await toy_hub.execute(
        CommandRequest(id="c-2", device="toy:lamp0", capability="dhi.on_off", command="toggle")
    )
    assert result.error is not None and result.error.code == "device_unavailable"


async def test_valid_command_reaches_adapter_and_changes_state(toy_hub: Hub) -> None:
    result = await toy_hub.execute(
        CommandRequest(
            id="c-3", device="toy:lamp0", capability="dhi.on_off", command="set", params={"on": True}
        )
    )
    assert result.status == "ok" and result.id == "c-3" and result.device == "toy:lamp0"
    value = toy_hub.state.get("toy:lamp0", "main", "dhi.on_off", "on")
    assert value is not None and value.value is True


async def test_adapter_exceptions_become_adapter_errors(toy_hub: Hub) -> None:
    adapter = toy_hub.supervisor.target("toy")

    async def boom(cmd: CommandRequest) -> Any:
        raise ValueError("device said no")

    adapter.execute = boom
    result = await toy_hub.execute(
        CommandRequest(id="c-4", device="toy:lamp0", capability="dhi.on_off", command="toggle")
    )
    assert result.error is not None and result.error.code == "adapter_error"
    assert "device said no" in result.error.message


async def test_slow_adapter_times_out(toy_hub: Hub) -> None:
    import asyncio

    adapter = toy_hub.supervisor.target("toy")

    async def slow(cmd: CommandRequest) -> Any:
        await asyncio.sleep(60)

    adapter.execute = slow
    result = await toy_hub.execute(
        CommandRequest(id="c-5", device="toy:lamp0", capability="dhi.on_off", command="toggle", timeout=0.05)
    )
    assert result.error is not None and result.error.code == "timeout"


# ------------------------------------------------------------------ property tests

CAT = default_catalog()
LEVEL = CAT["dhi.level"].property("level")
assert LEVEL is not None and LEVEL.minimum is not None and LEVEL.maximum is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.floats(allow_nan=True), st.integers(), st.booleans(), st.text(), st.none()))
def test_set_level_is_accepted_exactly_when_the_value_is_a_number_in_range(
    toy_hub_sync: Hub, value: Any
) -> None:
    cmd = CommandRequest(
        id="p", device="toy:lamp0", capability="dhi.level", command="set", params={"level": value}
    )
    ok = (value is None and LEVEL.nullable) or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value  # not NaN
        and abs(value) != float("inf")
        and LEVEL.minimum <= value <= LEVEL.maximum
    )
    try:
        validate_command(cmd, toy_hub_sync.registry, CAT)
    except HubError as err:
        assert not ok, f"valid level {value!r} refused: {err.message}"
        assert err.field == "params.level"
        assert err.code in ("invalid_params", "out_of_range")
    else:
        assert ok, f"invalid level {value!r} accepted"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    capability=st.sampled_from(sorted(CAT)),
    command=st.one_of(
        st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True), st.sampled_from(["set", "toggle", "on"])
    ),
)
def test_unknown_combinations_never_pass_and_always_name_a_field(
    toy_hub_sync: Hub, capability: str, command: str
) -> None:
    cmd = CommandRequest(id="p", device="toy:lamp0", capability=capability, command=command)
    on_device = capability in ("dhi.on_off", "dhi.level")
    known = CAT[capability].command(command) is not None
    try:
        validate_command(cmd, toy_hub_sync.registry, CAT)
    except HubError as err:
        assert err.field is not None
        if not on_device:
            assert err.code == "unknown_capability"
    else:
        assert on_device and known


async def test_a_partners_command_is_audited_with_who_what_and_result(toy_hub: Hub) -> None:
    """A command a sharing partner sends (a bridge names actor and subscription) is audited on
    the one command path; the hub's own callers (no actor) add no audit rows."""
    ok = CommandRequest(id="p-1", device="toy:lamp0", capability="dhi.on_off", command="toggle")
    bad = CommandRequest(id="p-2", device="toy:lamp0", capability="dhi.on_off", command="explode")
    await toy_hub.execute(ok, actor="home-assistant", subscription="home-assistant")
    await toy_hub.execute(bad, actor="home-assistant", subscription="home-assistant")
    await toy_hub.execute(ok.model_copy(update={"id": "own-1"}))
    await toy_hub.storage.flush()
    rows = [audit.row_to_dict(r) for r in await toy_hub.storage.fetchall(*audit.select(action="command.*"))]
    assert [(r["action"], r["message_id"], r["actor"], r["subscription"]) for r in rows] == [
        ("command.executed", "p-1", "home-assistant", "home-assistant"),
        ("command.failed", "p-2", "home-assistant", "home-assistant"),
    ]
    assert rows[0]["detail"] == {
        "device": "toy:lamp0", "component": "main", "capability": "dhi.on_off", "command": "toggle", "params": {},
    }  # fmt: skip
    assert rows[1]["detail"]["error"]["code"] == "unknown_command"


def test_a_command_audit_row_never_holds_a_pin() -> None:
    cmd = CommandRequest(
        id="p-3", device="toy:door", capability="dhi.lock", command="unlock", params={"pin_code": "123456"}
    )
    _, params = audit.command_entry(
        datetime(2026, 1, 1, tzinfo=UTC), "home-assistant", cmd, None, subscription="home-assistant",
        refused="read_only",
    )  # fmt: skip
    assert "123456" not in str(params)
    assert params[2] == "command.refused" and '"reason":"read_only"' in params[5]
