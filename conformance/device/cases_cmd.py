"""CMD, ERR and SAFE-1.1 cases: commands, their results and the error answers of §6.4."""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.device.context import DeviceContext, Instance, bounds, enum_of, params_example, valid_other
from conformance.device.session import Answer
from conformance.outcome import Failed, NotApplicable, Warned, passed, require
from conformance.registry import case
from dhi.models.catalog import ValueType
from dhi.models.conformance import Evidence, Profile, TargetKind

DEVICE = TargetKind.DEVICE

#: codes that say "valid, but not now" — an acceptable answer to a valid request
NOT_NOW = frozenset({"unsupported", "adapter_error", "device_unavailable"})
NO_SUCH = "dhi_conformance_none"


def valid_requests(ctx: DeviceContext) -> list[dict[str, Any]]:
    """One harmless valid request per writable property (set to its current value, when known)
    and per command whose parameters this suite can fill in."""
    out = []
    for inst in ctx.instances():
        current = ctx.current(inst.component, inst.id)
        for prop in inst.writable():
            value = (
                current[prop.name]
                if prop.name in current
                else valid_other(prop, inst.constraint(prop.name), None)
            )
            out.append(ctx.command(inst, "set", {prop.name: value}, "ok"))
        for cmd in inst.commands():
            params = params_example(cmd.params)
            if params is not None:
                out.append(ctx.command(inst, cmd.name, params, "ok"))
    return out


@case("DHI-CMD-1.1", "Every valid command is answered exactly once, with its id, in time", section="§12.4.2",
      target=DEVICE)  # fmt: skip
async def valid_commands_answered(ctx: DeviceContext) -> Evidence:
    requests = valid_requests(ctx)
    if not requests:
        raise NotApplicable("the device has no writable property and no command")
    answers = [await ctx.request(r) for r in requests]
    await asyncio.sleep(0.3)  # duplicates would arrive right behind the first answer
    unanswered = [a.sent for a in answers if a.result is None]
    require(not unanswered, f"{len(unanswered)} of {len(answers)} valid commands got no cmd/result within "
            f"{ctx.options.answer_timeout:g} s", sent=unanswered[:5], expected="one cmd/result with the same id",
            got="nothing")  # fmt: skip
    refused = [
        {"sent": a.sent, "got": a.result}
        for a in answers
        if a.status != "ok" and a.error.get("code") not in NOT_NOW
    ]
    require(not refused, f"{len(refused)} valid command(s) refused", expected="status ok", got=refused[:5])
    repeated = [a.sent["id"] for a in answers if len(ctx.session.results_with_id(a.sent["id"])) > 1]
    require(not repeated, "answered more than once: " + ", ".join(repeated), expected="exactly one result")
    slowest = max(a.waited for a in answers)
    return passed(f"{len(answers)} commands answered (slowest {slowest * 1000:.0f} ms)",
                  sent=[a.sent for a in answers][:10], got=[a.result for a in answers][:10])  # fmt: skip


@case("DHI-CMD-2.1", "Setting a writable property changes the reported state (before the result)",
      section="§12.4.2", target=DEVICE)  # fmt: skip
async def set_round_trip(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    prop = inst.writable()[0]
    before = ctx.current(inst.component, inst.id).get(prop.name)
    value = valid_other(prop, inst.constraint(prop.name), before)
    request = ctx.command(inst, "set", {prop.name: value}, "set")
    mark = ctx.session.last_seq
    answer = await ctx.request(request)
    sub = f"state/{inst.component}/{inst.id}"

    def reports_value(m: Any) -> bool:
        doc = m.json() if m.sub == sub else None
        return doc is not None and (doc.get("properties") or {}).get(prop.name) == value

    state = await ctx.session.wait(reports_value, ctx.options.answer_timeout, after=mark)
    if before is not None and before != value:  # put it back as it was
        await ctx.request(ctx.command(inst, "set", {prop.name: before}, "restore"))
    require(state is not None, f"no state report with {prop.name}={value!r} after the set",
            sent=request, expected=f"{sub} with {prop.name}={value!r}", got=ctx.current(inst.component, inst.id))  # fmt: skip
    if answer.seen is not None and state is not None and state.seq > answer.seen.seq:
        raise Warned(
            "the new state came after the result (SHOULD come before)", sent=request, got=answer.result
        )
    return passed(f"{prop.name}: {before!r} → {value!r} reported", sent=request, got=answer.result)


@case("DHI-SAFE-1.1", "A smoke alarm's self_test runs: test_in_progress or self_test_complete is reported",
      section="§8.2", target=DEVICE, profile=Profile.SAFETY, needs=("dhi.smoke_alarm",))  # fmt: skip
async def self_test(ctx: DeviceContext) -> Evidence:
    inst = ctx.find("dhi.smoke_alarm")
    if inst is None:
        raise Failed("dhi.smoke_alarm is claimed but not in the description")
    if "self_test" not in [c.name for c in inst.commands()]:
        raise Failed("the smoke alarm does not offer self_test", expected="commands: [self_test, …]")
    mark = ctx.session.last_seq
    request = ctx.command(inst, "self_test", {}, "selftest")
    await ctx.session.send(request)
    sub = f"state/{inst.component}/{inst.id}"

    def shows_test(m: Any) -> bool:
        doc = m.json() if m.sub in (sub, "event") else None
        if not doc or doc.get("capability") != inst.id:
            return False
        return (
            doc.get("event") == "self_test_complete"
            or (doc.get("properties") or {}).get("test_in_progress") is True
        )

    seen = await ctx.session.wait(shows_test, 2 * ctx.options.answer_timeout, after=mark)
    require(seen is not None, "self_test changed nothing the hub can see", sent=request,
            expected="test_in_progress=true or a self_test_complete event")  # fmt: skip
    assert seen is not None
    return passed("self-test observed", sent=request, got=seen.json())


# ---------------------------------------------------------------- error answers (§6.4)


def _field_ok(got: Any, want: str) -> bool:
    return isinstance(got, str) and got.removeprefix("$.") == want


async def expect_error(ctx: DeviceContext, request: dict[str, Any], code: str, field: str | None) -> Evidence:
    answer: Answer = await ctx.request(request)
    expected = {"status": "error", "error": {"code": code, **({"field": field} if field else {})}}
    if answer.result is None:
        raise Failed("no answer to an invalid request", sent=request, expected=expected, got=None)
    if answer.status != "error":
        raise Failed("an invalid request was accepted", sent=request, expected=expected, got=answer.result)
    got_code = answer.error.get("code")
    require(
        got_code == code, f"wrong error code {got_code!r}", sent=request, expected=expected, got=answer.result
    )
    if field is not None and not _field_ok(answer.error.get("field"), field):
        raise Warned(f"right code, but field {answer.error.get('field')!r} does not point at {field!r}",
                     sent=request, expected=expected, got=answer.result)  # fmt: skip
    return passed(f"answered {code}", sent=request, got=answer.result)


def _any(ctx: DeviceContext) -> Instance:
    return ctx.first("capability", lambda i: True)


def _bad_type(prop: Any) -> Any:
    return {ValueType.BOOLEAN: "yes", ValueType.STRING: 5, ValueType.ENUM: 7}.get(prop.type, "high")


def _out_of_range(inst: Instance) -> tuple[str, Any] | None:
    for prop in inst.writable():
        c = inst.constraint(prop.name)
        if prop.type is ValueType.ENUM and enum_of(prop, c):
            return prop.name, NO_SUCH
        if prop.type in (ValueType.INTEGER, ValueType.NUMBER):
            lo, hi = bounds(prop, c)
            if hi is not None:
                return prop.name, int(hi) + 1000 if prop.type is ValueType.INTEGER else hi + 1000.5
            if lo is not None:
                return prop.name, int(lo) - 1000 if prop.type is ValueType.INTEGER else lo - 1000.5
    return None


@case("DHI-ERR-1.1", "A command for an unknown component is answered unknown_component", section="§6.4",
      target=DEVICE)  # fmt: skip
async def err_component(ctx: DeviceContext) -> Evidence:
    inst = _any(ctx)
    req = ctx.command(inst, "set", {}, "err")
    req["component"] = NO_SUCH
    return await expect_error(ctx, req, "unknown_component", "component")


@case("DHI-ERR-1.2", "A command for a capability the component lacks is answered unknown_capability",
      section="§6.4", target=DEVICE)  # fmt: skip
async def err_capability(ctx: DeviceContext) -> Evidence:
    inst = _any(ctx)
    have = {i.id for i in ctx.instances() if i.component == inst.component}
    other = next(c for c in sorted(ctx.catalog) if c not in have)
    req = ctx.command(inst, "set", {}, "err")
    req["capability"] = other
    return await expect_error(ctx, req, "unknown_capability", "capability")


@case("DHI-ERR-1.3", "An unknown command is answered unknown_command", section="§6.4", target=DEVICE)
async def err_command(ctx: DeviceContext) -> Evidence:
    return await expect_error(ctx, ctx.command(_any(ctx), NO_SUCH, {}, "err"), "unknown_command", "command")


@case("DHI-ERR-1.4", "Setting a property the capability lacks is answered unknown_property", section="§6.4",
      target=DEVICE)  # fmt: skip
async def err_property(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    req = ctx.command(inst, "set", {NO_SUCH: 1}, "err")
    return await expect_error(ctx, req, "unknown_property", f"params.{NO_SUCH}")


@case("DHI-ERR-1.5", "Setting a read-only property is answered not_writable", section="§6.4", target=DEVICE)
async def err_not_writable(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("capability with both writable and read-only properties",
                     lambda i: bool(i.writable()) and bool(i.read_only()))  # fmt: skip
    prop = inst.read_only()[0]
    value = valid_other(prop, inst.constraint(prop.name), None)
    return await expect_error(ctx, ctx.command(inst, "set", {prop.name: value}, "err"), "not_writable",
                              f"params.{prop.name}")  # fmt: skip


@case(
    "DHI-ERR-1.6", "A parameter of the wrong type is answered invalid_params", section="§6.4", target=DEVICE
)
async def err_type(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    prop = inst.writable()[0]
    req = ctx.command(inst, "set", {prop.name: _bad_type(prop)}, "err")
    return await expect_error(ctx, req, "invalid_params", f"params.{prop.name}")


@case("DHI-ERR-1.7", "A value outside the range or enum is answered out_of_range", section="§6.4",
      target=DEVICE)  # fmt: skip
async def err_range(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property with a range or enum", lambda i: _out_of_range(i) is not None)
    found = _out_of_range(inst)
    assert found is not None
    name, value = found
    return await expect_error(
        ctx, ctx.command(inst, "set", {name: value}, "err"), "out_of_range", f"params.{name}"
    )


@case(
    "DHI-ERR-1.8", "A request with an unknown key is answered invalid_params", section="§6.4", target=DEVICE
)
async def err_unknown_key(ctx: DeviceContext) -> Evidence:
    req = ctx.command(_any(ctx), "set", {}, "err")
    req["colour"] = "blue"
    return await expect_error(ctx, req, "invalid_params", "colour")


@case(
    "DHI-ERR-1.9", "A request without a capability is answered invalid_params", section="§6.4", target=DEVICE
)
async def err_missing_key(ctx: DeviceContext) -> Evidence:
    req = ctx.command(_any(ctx), "set", {}, "err")
    del req["capability"]
    return await expect_error(ctx, req, "invalid_params", "capability")


async def probe(ctx: DeviceContext, timeout: float | None = None) -> Answer:
    """A request every live device answers (with an error): is it still listening on …/cmd?"""
    inst = _any(ctx)
    req = ctx.command(inst, NO_SUCH, {}, "probe")
    return await ctx.request(req, timeout)
