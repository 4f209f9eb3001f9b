"""CMD, ERR and SAFE-1.1 cases: commands, their results and the error answers of §6.4."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from conformance.device.context import DeviceContext, Instance, bounds, enum_of, params_example, valid_other
from conformance.device.session import Answer
from conformance.outcome import Errored, Failed, NotApplicable, Warned, passed, require
from conformance.registry import Phase, case
from dhi.models.catalog import ValueType
from dhi.models.conformance import Evidence, Profile, TargetKind

DEVICE = TargetKind.DEVICE

#: codes that say "valid, but not now" — an acceptable answer to a valid request
NOT_NOW = frozenset({"unsupported", "adapter_error", "device_unavailable"})
NO_SUCH = "dhi_conformance_none"


def valid_requests(ctx: DeviceContext, claimed_only: bool = False) -> list[dict[str, Any]]:
    """One harmless valid request per writable property (set to its current value, when known)
    and per command whose parameters this suite can fill in."""
    out = []
    for inst in ctx.instances():
        if claimed_only and inst.id not in ctx.claims.capabilities:
            continue
        current = ctx.current(inst.component, inst.id)
        for prop in inst.writable():
            try:
                value = (
                    current[prop.name]
                    if prop.name in current
                    else valid_other(prop, inst.constraint(prop.name), None)
                )
            except Warned:
                continue  # no value this suite can build: the other members still count
            out.append(ctx.command(inst, "set", {prop.name: value}, "ok"))
        for cmd in inst.commands():
            params = params_example(cmd.params)
            if params is not None:
                out.append(ctx.command(inst, cmd.name, params, "ok"))
    return out


def member(request: dict[str, Any]) -> str:
    """What a valid request exercises: ``component/capability.command`` or ``….set(prop)``."""
    what = request["command"]
    if what == "set":
        what = "set(" + ", ".join(request["params"]) + ")"
    return f"{request['component']}/{request['capability']}.{what}"


@case("DHI-CMD-1.1", "Every valid command is answered with its id before its timeout", section="§12.4.2",
      target=DEVICE, rules=("R12.4.2-1",))  # fmt: skip
async def valid_commands_answered(ctx: DeviceContext) -> Evidence:
    requests = valid_requests(ctx)
    if not requests:
        raise NotApplicable("the description declares no writable property and no command")
    answers = [await ctx.request(r) for r in requests]
    ctx.notes.setdefault(_ANSWERS, []).extend(answers)
    unanswered = [a.sent for a in answers if a.result is None]
    require(not unanswered, f"R12.4.2-1: {len(unanswered)} of {len(answers)} valid commands got no cmd/result "
            f"with their id within their timeout of {ctx.options.answer_timeout:g} s, e.g. {member(unanswered[0])}"
            if unanswered else "", sent=unanswered[:5], expected="one cmd/result with the same id", got="nothing")  # fmt: skip
    slowest = max(a.waited for a in answers)
    return passed(f"R12.4.2-1: {len(answers)} valid commands answered with their ids (slowest "
                  f"{slowest * 1000:.0f} ms)", sent=[a.sent for a in answers][:10],
                  got=[a.result for a in answers][:10])  # fmt: skip


_ANSWERS = "valid_answers"
#: how often CMD-1.2 asks again for a member that was answered "not now" (with a pause between)
_RETRIES = 3


@case("DHI-CMD-1.2", "Every declared command and writable property of a claimed capability works: valid "
      "requests are carried out, not refused or 'unsupported' every time", section="§12.4.2",
      target=DEVICE, rules=("R12.4.2-3",))  # fmt: skip
async def claimed_members_work(ctx: DeviceContext) -> Evidence:
    requests = valid_requests(ctx, claimed_only=True)
    if not requests:
        raise NotApplicable("no claimed capability declares a writable property or a command")
    earlier: list[Answer] = ctx.notes.get(_ANSWERS, [])
    refused: list[dict[str, Any]] = []
    never_ok: list[dict[str, Any]] = []
    worked: list[str] = []
    unanswered: list[str] = []
    for request in requests:
        name = member(request)
        tries = [a for a in earlier if a.result is not None and member(a.sent) == name]
        for attempt in range(_RETRIES):
            if any(a.status == "ok" for a in tries):
                break
            if attempt:
                await asyncio.sleep(0.3)  # "not now" may be a moment: a self-test still running
            tries.append(await ctx.request({**request, "id": ctx.session.new_id("ok")}))
        if not any(a.result is not None for a in tries):
            unanswered.append(name)
            continue
        wrong = [a for a in tries if a.status == "error" and a.error.get("code") not in NOT_NOW]
        if wrong:
            refused.append({"member": name, "sent": wrong[0].sent, "got": wrong[0].result})
        elif any(a.status == "ok" for a in tries):
            worked.append(name)
        elif tries:
            never_ok.append({"member": name, "answers": [a.result for a in tries]})
    require(not refused, f"R12.4.2-3: {len(refused)} valid request(s) refused with an error other than 'not now' "
            f"({', '.join(sorted(NOT_NOW))}), e.g. {refused[0]['member']} got "
            f"{refused[0]['got'].get('error', {}).get('code')!r}" if refused else "",
            expected="status ok (or a 'not now' code)", got=refused[:5])  # fmt: skip
    require(not never_ok, f"R12.4.2-3: {len(never_ok)} declared member(s) of claimed capabilities never worked: "
            f"{', '.join(n['member'] for n in never_ok)} answered 'unsupported' (or another 'not now' code) "
            f"every time, {_RETRIES} tries or more; a member the device cannot carry out does not belong in "
            "its description", expected="status ok at least once", got=never_ok[:5])  # fmt: skip
    if unanswered:
        raise Errored("no answer for " + ", ".join(unanswered) + ", so whether they work cannot be judged "
                      "(see DHI-CMD-1.1)")  # fmt: skip
    return passed(f"R12.4.2-3: {len(worked)} claimed members carried out: " + ", ".join(worked))


@case("DHI-CMD-1.3", "No request is answered more than once, however late (watched until its timeout passed)",
      section="§12.4.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.4.2-2",))  # fmt: skip
async def answered_once(ctx: DeviceContext) -> Evidence:
    session = ctx.session
    if not session.sent:  # run on its own (--only): give the device something to answer
        await probe(ctx)
    # a repeat may come any time until the request's timeout: wait until the last one passed
    # (capped at the suite's own answer timeout; a request without a valid timeout gets that)
    window = ctx.options.answer_timeout
    until = max(at + min(timeout or window, window) for _, at, timeout in session.sent)
    await asyncio.sleep(max(0.0, until - session.now()))
    counts: dict[str, int] = {}
    for m in session.messages:
        doc = m.json() if m.sub == "cmd/result" else None
        rid = doc.get("id") if doc else None
        if isinstance(rid, str):
            counts[rid] = counts.get(rid, 0) + 1
    sent_ids = {rid for rid, _, _ in session.sent}
    repeated = {rid: n for rid, n in counts.items() if n > 1 and rid in sent_ids}
    require(not repeated, f"R12.4.2-2: {len(repeated)} request(s) answered more than once, e.g. "
            f"{next(iter(repeated), '')!r} {max(repeated.values(), default=0)} times" if repeated else "",
            expected="exactly one cmd/result per request id", got=dict(list(repeated.items())[:10]))  # fmt: skip
    return passed(f"R12.4.2-2: {len(sent_ids & set(counts))} requests answered, none twice "
                  "(watched until each request's timeout passed)")  # fmt: skip


@case("DHI-CMD-2.1", "Setting a writable property publishes a state report with the new value (before the "
      "result)", section="§12.3.2", target=DEVICE, rules=("R12.3.2-5",))  # fmt: skip
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
    if answer.status != "ok":
        raise Errored(f"the set was not carried out ({answer.status or 'no answer'}), so its state report cannot "
                      "be judged (see DHI-CMD-1.1, DHI-CMD-1.2)", sent=request, got=answer.result)  # fmt: skip
    require(state is not None, f"R12.3.2-5: the set of {prop.name}={value!r} was answered ok but no state "
            f"report with the new value followed within {ctx.options.answer_timeout:g} s", sent=request,
            expected=f"{sub} with {prop.name}={value!r}", got=ctx.current(inst.component, inst.id))  # fmt: skip
    if answer.seen is not None and state is not None and state.seq > answer.seen.seq:
        raise Warned("R12.3.2-5 met, but the new state came after the result (§12.4.2: SHOULD come before)",
                     sent=request, got=answer.result)  # fmt: skip
    return passed(f"R12.3.2-5: {prop.name}: {before!r} → {value!r} reported before the result",
                  sent=request, got=answer.result)  # fmt: skip


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


# ---------------------------------------------------------------- error answers (§12.4.3)


def _field_ok(got: Any, want: str) -> bool:
    return isinstance(got, str) and got.removeprefix("$.") == want


async def expect_error(
    ctx: DeviceContext, request: dict[str, Any], code: str, field: str | None, *, rule: str, fault: str
) -> Evidence:
    """Send ``request`` — valid except for ``fault`` — and judge the answer against ``rule``."""
    answer: Answer = await ctx.request(request)
    expected = {"status": "error", "error": {"code": code, **({"field": field} if field else {})}}
    if answer.result is None:
        raise Failed(f"{rule}: no answer to a request that {fault}", sent=request, expected=expected)
    if answer.status != "error":
        raise Failed(f"{rule}: a request that {fault} was accepted ({answer.status!r})", sent=request,
                     expected=expected, got=answer.result)  # fmt: skip
    got_code = answer.error.get("code")
    require(got_code == code, f"{rule}: a request that {fault} was answered {got_code!r}, not {code!r}",
            sent=request, expected=expected, got=answer.result)  # fmt: skip
    if field is not None and not _field_ok(answer.error.get("field"), field):
        raise Warned(f"{rule}: right code {code!r}, but field {answer.error.get('field')!r} does not point at "
                     f"{field!r}", sent=request, expected=expected, got=answer.result)  # fmt: skip
    return passed(f"{rule}: a request that {fault} was answered {code}", sent=request, got=answer.result)


def _base(ctx: DeviceContext) -> dict[str, Any]:
    """A valid request (a harmless set or a command with valid parameters) that a negative case
    changes in exactly one place, so the answer can only be about that one fault."""
    requests = valid_requests(ctx)
    if not requests:
        raise NotApplicable("the description declares no writable property and no command")
    sets = [r for r in requests if r["command"] == "set"]
    return {**(sets or requests)[0], "id": ctx.session.new_id("err")}


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


@case("DHI-ERR-1.1", "A command for an unknown component is answered unknown_component", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-5",))  # fmt: skip
async def err_component(ctx: DeviceContext) -> Evidence:
    req = {**_base(ctx), "component": NO_SUCH}
    return await expect_error(ctx, req, "unknown_component", "component", rule="R12.4.3-5",
                              fault=f"names the unknown component {NO_SUCH!r}")  # fmt: skip


@case("DHI-ERR-1.2", "A command for a capability the component lacks is answered unknown_capability",
      section="§12.4.3", target=DEVICE, rules=("R12.4.3-6",))  # fmt: skip
async def err_capability(ctx: DeviceContext) -> Evidence:
    base = _base(ctx)
    have = {i.id for i in ctx.instances() if i.component == base["component"]}
    other = next(c for c in sorted(ctx.catalog) if c not in have)
    return await expect_error(ctx, {**base, "capability": other}, "unknown_capability", "capability",
                              rule="R12.4.3-6", fault=f"names the capability {other!r} its component lacks")  # fmt: skip


@case("DHI-ERR-1.3", "An unknown command is answered unknown_command", section="§12.4.3", target=DEVICE,
      rules=("R12.4.3-7",))  # fmt: skip
async def err_command(ctx: DeviceContext) -> Evidence:
    req = {**_base(ctx), "command": NO_SUCH, "params": {}}
    return await expect_error(ctx, req, "unknown_command", "command", rule="R12.4.3-7",
                              fault=f"names the unknown command {NO_SUCH!r}")  # fmt: skip


@case("DHI-ERR-1.4", "Setting a property the capability lacks is answered unknown_property", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-8",))  # fmt: skip
async def err_property(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    req = ctx.command(inst, "set", {NO_SUCH: 1}, "err")
    return await expect_error(ctx, req, "unknown_property", f"params.{NO_SUCH}", rule="R12.4.3-8",
                              fault=f"sets the property {NO_SUCH!r} the capability does not have")  # fmt: skip


@case("DHI-ERR-1.5", "Setting a read-only property is answered not_writable", section="§12.4.3", target=DEVICE,
      rules=("R12.4.3-9",))  # fmt: skip
async def err_not_writable(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("capability with both writable and read-only properties",
                     lambda i: bool(i.writable()) and bool(i.read_only()))  # fmt: skip
    prop = inst.read_only()[0]
    value = valid_other(prop, inst.constraint(prop.name), None)
    return await expect_error(ctx, ctx.command(inst, "set", {prop.name: value}, "err"), "not_writable",
                              f"params.{prop.name}", rule="R12.4.3-9", fault=f"sets the read-only {prop.name}")  # fmt: skip


@case("DHI-ERR-1.6", "A parameter of the wrong type is answered invalid_params", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-11",))  # fmt: skip
async def err_type(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    prop = inst.writable()[0]
    bad = _bad_type(prop)
    req = ctx.command(inst, "set", {prop.name: bad}, "err")
    return await expect_error(ctx, req, "invalid_params", f"params.{prop.name}", rule="R12.4.3-11",
                              fault=f"sets the {prop.type.value} {prop.name} to {bad!r}")  # fmt: skip


@case("DHI-ERR-1.7", "A value outside the range or enum is answered out_of_range", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-12",))  # fmt: skip
async def err_range(ctx: DeviceContext) -> Evidence:
    return await _out_of_range_answer(
        ctx, _out_of_range, "a range or enum", "R12.4.3-12", "outside its range"
    )


async def _out_of_range_answer(
    ctx: DeviceContext, pick: Callable[[Instance], tuple[str, Any] | None], having: str, rule: str, why: str
) -> Evidence:
    """Set the first writable property ``pick`` finds a bad value for; expect out_of_range."""
    inst = ctx.first(f"writable property with {having}", lambda i: pick(i) is not None)
    found = pick(inst)
    assert found is not None
    name, value = found
    return await expect_error(ctx, ctx.command(inst, "set", {name: value}, "err"), "out_of_range",
                              f"params.{name}", rule=rule, fault=f"sets {name} to {value!r}, {why}")  # fmt: skip


@case("DHI-ERR-1.8", "A request with an unknown key is answered invalid_params", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-2",))  # fmt: skip
async def err_unknown_key(ctx: DeviceContext) -> Evidence:
    req = {**_base(ctx), "colour": "blue"}
    return await expect_error(ctx, req, "invalid_params", "colour", rule="R12.4.3-2",
                              fault="has the unknown key 'colour'")  # fmt: skip


@case("DHI-ERR-1.9", "A request without a capability is answered invalid_params", section="§12.4.3",
      target=DEVICE, rules=("R12.4.3-3",))  # fmt: skip
async def err_missing_key(ctx: DeviceContext) -> Evidence:
    req = {k: v for k, v in _base(ctx).items() if k != "capability"}
    return await expect_error(
        ctx, req, "invalid_params", "capability", rule="R12.4.3-3", fault="has no 'capability'"
    )


@case("DHI-ERR-1.10", "A set with empty params is answered invalid_params", section="§12.4.3", target=DEVICE,
      rules=("R12.4.3-10",))  # fmt: skip
async def err_empty_set(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("writable property", lambda i: bool(i.writable()))
    return await expect_error(ctx, ctx.command(inst, "set", {}, "err"), "invalid_params", "params",
                              rule="R12.4.3-10", fault="sets nothing (params {})")  # fmt: skip


def _undeclared(inst: Instance) -> str | None:
    listed = inst.inst.properties
    if listed is None:
        return None
    return next((p.name for p in inst.definition.properties if p.writable and p.name not in listed), None)


@case("DHI-ERR-1.11", "Setting a catalog property the description does not declare is answered "
      "unknown_property", section="§12.4.3", target=DEVICE, rules=("R12.4.3-14",))  # fmt: skip
async def err_undeclared(ctx: DeviceContext) -> Evidence:
    inst = ctx.first("capability that leaves a writable catalog property out of its list",
                     lambda i: _undeclared(i) is not None)  # fmt: skip
    name = _undeclared(inst)
    assert name is not None
    prop = inst.definition.property(name)
    assert prop is not None
    value = valid_other(prop, None, None)
    return await expect_error(ctx, ctx.command(inst, "set", {name: value}, "err"), "unknown_property",
                              f"params.{name}", rule="R12.4.3-14",
                              fault=f"sets {inst.id}.{name}, which the description does not declare")  # fmt: skip


@case("DHI-ERR-1.12", "A request whose 'device' names another device is answered invalid_params",
      section="§12.4.1", target=DEVICE, rules=("R12.4.1-1",))  # fmt: skip
async def err_other_device(ctx: DeviceContext) -> Evidence:
    scheme = ctx.require_desc().id.partition(":")[0]
    other = f"{scheme}:{ctx.session.device}-dhi-conformance-other"
    return await expect_error(ctx, {**_base(ctx), "device": other}, "invalid_params", "device", rule="R12.4.1-1",
                              fault=f"names another device ({other!r})")  # fmt: skip


@case("DHI-ERR-1.13", "A request whose id breaks the id pattern gets no answer (and the device keeps "
      "answering)", section="§12.4.3", target=DEVICE, rules=("R12.4.3-13",))  # fmt: skip
async def err_bad_id(ctx: DeviceContext) -> Evidence:
    bad_id = "bad id/" + ctx.session.new_id("err")  # a space and a slash: not ^[A-Za-z0-9][A-Za-z0-9_.:-]*$
    req = {**_base(ctx), "id": bad_id}
    answer = await ctx.request(req, min(ctx.options.answer_timeout, 1.0))
    alive = await probe(ctx)
    if alive.result is None:
        raise Failed("R12.4.3-13: after a request with an invalid id the device stopped answering", sent=req)
    require(answer.result is None, "R12.4.3-13: a request whose id breaks the pattern was answered; it must be "
            "dropped (no valid id to answer with)", sent=req, expected="no cmd/result", got=answer.result)  # fmt: skip
    return passed(
        "R12.4.3-13: the request with an invalid id was dropped; the device still answers", sent=req
    )


@case("DHI-ERR-1.14", "A request field of the wrong type (a timeout that is not a number) is answered "
      "invalid_params", section="§12.4.3", target=DEVICE, rules=("R12.4.3-4",))  # fmt: skip
async def err_field_type(ctx: DeviceContext) -> Evidence:
    req = {**_base(ctx), "timeout": "soon"}
    return await expect_error(ctx, req, "invalid_params", "timeout", rule="R12.4.3-4",
                              fault="has the timeout 'soon' (not a number)")  # fmt: skip


def _off_step(inst: Instance) -> tuple[str, Any] | None:
    """A writable property with a step and a value inside its range but off the grid."""
    for prop in inst.writable():
        c = inst.constraint(prop.name)
        step = c.step if c is not None and c.step else prop.step
        lo, hi = bounds(prop, c)
        if not step or prop.type not in (ValueType.INTEGER, ValueType.NUMBER):
            continue
        value = (lo or 0) + step / 2
        if prop.type is ValueType.INTEGER:
            if step < 2:
                continue
            value = int((lo or 0) + 1)
        if hi is None or value <= hi:
            return prop.name, value
    return None


@case("DHI-ERR-1.15", "A value inside the range but off the step grid is answered out_of_range",
      section="§12.4.3", target=DEVICE, rules=("R12.4.3-15",))  # fmt: skip
async def err_step(ctx: DeviceContext) -> Evidence:
    return await _out_of_range_answer(ctx, _off_step, "a step", "R12.4.3-15", "off its step grid")


@case("DHI-CMD-1.4", "Requests sent together are each answered with their own id", section="§12.5",
      target=DEVICE, rules=("R12.5-1",))  # fmt: skip
async def answered_by_id(ctx: DeviceContext) -> Evidence:
    # requests every device answers at once (an unknown command, on up to three capabilities),
    # so the case judges only how answers are matched, not whether commands work
    insts = list(ctx.instances())[:3] or [ctx.first("capability", lambda i: True)]
    requests = [ctx.command(inst, NO_SUCH, {}, "together") for inst in (insts * 3)[:3]]
    answers = await asyncio.gather(*(ctx.request(r) for r in requests))
    missing = [a.sent["id"] for a in answers if a.result is None]
    require(not missing, f"R12.5-1: of {len(requests)} requests sent without waiting, "
            f"{', '.join(missing)} got no result with its own id", sent=requests,
            expected="one result per id", got=[m.json() for m in ctx.session.messages if m.sub == "cmd/result"][-5:])  # fmt: skip
    return passed(f"R12.5-1: {len(requests)} requests sent together, each answered with its own id",
                  sent=requests, got=[a.result for a in answers])  # fmt: skip


async def probe(ctx: DeviceContext, timeout: float | None = None) -> Answer:
    """A request every live device answers (with an error): is it still listening on …/cmd?"""
    inst = ctx.first("capability", lambda i: True)
    req = ctx.command(inst, NO_SUCH, {}, "probe")
    return await ctx.request(req, timeout)
