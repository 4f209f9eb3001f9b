"""FUZZ cases of the device target: generated malformed and boundary requests on …/cmd.

Every generated request is invalid by construction (and checked to be so against the schema,
the description and the catalog); the device must answer each with an error carrying a §6.4
code. A crash (no more answers), a hang (no answer) or an ``ok`` (silent acceptance) fails,
with the smallest failing request in the evidence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import strategies as st

from conformance.device.cases_cmd import probe, valid_requests
from conformance.device.context import DeviceContext, Instance, bounds, enum_of
from conformance.fuzz import (
    JSON_SCALARS,
    JSON_VALUES,
    FuzzFailure,
    FuzzRun,
    TargetDead,
    blocking,
    run_property,
)
from conformance.outcome import Failed, NotApplicable, passed
from conformance.registry import Phase, Tier, case
from conformance.schemas import schema_problems
from dhi.catalog import check_params, check_write
from dhi.errors import ERRORS, HubError
from dhi.models.catalog import PropertyDef, ValueType
from dhi.models.conformance import Evidence, TargetKind

DEVICE = TargetKind.DEVICE
REQUEST_KEYS = ("id", "device", "component", "capability", "command", "params", "timeout")
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def request_problem(ctx: DeviceContext, req: Any) -> str | None:
    """Why ``req`` is invalid for this device (schema, description, catalog), None if valid."""
    problems = schema_problems(req, "command")
    if problems:
        return problems[0]
    inst = ctx.find(req["capability"], req.get("component", "main"))
    if inst is None:
        return "no such component/capability on the device"
    params = req.get("params", {})
    try:
        if req["command"] == "set":
            writable = {p.name: p for p in inst.writable()}
            if not writable or not params:
                return "nothing writable to set"
            for name, value in params.items():
                if name not in writable:
                    return f"{name} is not writable"
                check_write(writable[name], value, f"params.{name}", inst.constraint(name))
        else:
            cmd = next((c for c in inst.commands() if c.name == req["command"]), None)
            if cmd is None:
                return "no such command"
            check_params(cmd.params, params, "params")
    except HubError as exc:
        return exc.message
    return None


def _wrong_values(prop: PropertyDef, inst: Instance) -> st.SearchStrategy[Any]:
    """Values of the wrong type, and boundary values just outside the range or enum."""
    c = inst.constraint(prop.name)
    wrong: list[st.SearchStrategy[Any]] = [
        st.lists(JSON_SCALARS, max_size=3),
        st.dictionaries(NAME, JSON_SCALARS, max_size=2),
    ]
    if not prop.nullable:
        wrong.append(st.none())
    if prop.type is ValueType.BOOLEAN:
        wrong += [st.integers(-5, 5), st.text(max_size=8)]
    elif prop.type in (ValueType.INTEGER, ValueType.NUMBER):
        wrong += [st.booleans(), st.text(max_size=8)]
        if prop.type is ValueType.INTEGER:
            wrong.append(
                st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
            )
        lo, hi = bounds(prop, c)
        if hi is not None:
            wrong.append(st.integers(int(hi) + 1, int(hi) + 10**6) if prop.type is ValueType.INTEGER
                         else st.floats(min_value=hi, max_value=hi + 1e9, exclude_min=True))  # fmt: skip
        if lo is not None:
            wrong.append(st.integers(int(lo) - 10**6, int(lo) - 1) if prop.type is ValueType.INTEGER
                         else st.floats(min_value=lo - 1e9, max_value=lo, exclude_max=True))  # fmt: skip
    elif prop.type is ValueType.ENUM:
        options = enum_of(prop, c)
        wrong += [st.text(max_size=12).filter(lambda s: s not in options), st.integers(-5, 5), st.booleans()]
    else:
        wrong += [st.integers(-5, 5), st.booleans()]
    return st.one_of(wrong)


def _set_command(ctx: DeviceContext, inst: Instance, name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: ctx.command(inst, "set", {name: value}, "fuzz")


def malformed_requests(ctx: DeviceContext) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Families of invalid requests, each built from a valid one; every family gets its share
    of the examples, so a defect in one corner is not drowned by the others."""
    bases = valid_requests(ctx)
    if not bases:
        raise NotApplicable("the device has no writable property and no command to start from")
    components = {c.id for c in ctx.require_desc().components}
    sets = [b for b in bases if b["command"] == "set"]

    def names_of(base: dict[str, Any]) -> tuple[set[str], set[str]]:
        inst = ctx.find(base["capability"], base["component"])
        assert inst is not None
        return {c.name for c in inst.commands()} | {"set"}, {
            i.id for i in ctx.instances() if i.component == inst.component
        }

    def family(make: Any, pool: list[dict[str, Any]] = bases) -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(pool).flatmap(make)

    not_str = JSON_VALUES.filter(lambda v: not isinstance(v, str))
    families: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "required key missing": family(
            lambda b: st.sampled_from(["capability", "command"]).map(
                lambda k: {x: v for x, v in b.items() if x != k}
            )
        ),
        "unknown key": family(
            lambda b: st.tuples(NAME.filter(lambda k: k not in REQUEST_KEYS), JSON_VALUES).map(
                lambda kv: {**b, kv[0]: kv[1]}
            )
        ),
        "field of the wrong type": family(
            lambda b: st.sampled_from(["component", "capability", "command"]).flatmap(
                lambda k: not_str.map(lambda v: {**b, k: v})
            )
        ),
        "params not an object": family(
            lambda b: JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(lambda v: {**b, "params": v})
        ),
        "timeout out of range or not a number": family(
            lambda b: (st.text(max_size=5) | st.booleans() | st.floats(-1e6, 0) | st.floats(300.5, 1e6)).map(
                lambda v: {**b, "timeout": v}
            )
        ),
        "unknown component": family(
            lambda b: NAME.filter(lambda c: c not in components).map(lambda c: {**b, "component": c})
        ),
        "unknown capability": family(
            lambda b: st.sampled_from(sorted(set(ctx.catalog) - names_of(b)[1])).map(
                lambda c: {**b, "capability": c}
            )
        ),
        "unknown command": family(
            lambda b: NAME.filter(lambda n: n not in names_of(b)[0]).map(lambda n: {**b, "command": n})
        ),
    }
    if sets:
        families["unknown parameter beside a valid one"] = family(
            lambda b: st.tuples(NAME.filter(lambda k: k not in b["params"]), JSON_SCALARS).map(
                lambda kv: {**b, "params": {**b["params"], kv[0]: kv[1]}}
            ),
            sets,
        )
    writable = [(i, p) for i in ctx.instances() for p in i.writable()]
    if writable:
        families["wrong or out-of-range value"] = st.one_of(
            [_wrong_values(p, i).map(_set_command(ctx, i, p.name)) for i, p in writable]
        )
    return {name: s.map(lambda r: {**r, "id": ctx.session.new_id("fuzz")}) for name, s in families.items()}


def _report(run: FuzzRun, what: str, rule: str, expected: str, fine: str) -> Evidence:
    worst = run.minimal()
    if worst is not None:
        raise Failed(
            f"{rule}: {worst.reason} (minimal failing {what} of {run.tried} tried)",
            sent=worst.example,
            expected=expected,
            got=worst.got,
        )
    return passed(f"{rule}: {run.tried} generated {what}s {fine}")


@case("DHI-FUZZ-1.1", "Generated malformed and boundary requests are all answered with errors",
      section="§12.4.1", target=DEVICE, tier=Tier.FUZZ, phase=Phase.FUZZ, rules=("R12.4.1-2",))  # fmt: skip
async def fuzz_requests(ctx: DeviceContext) -> Evidence:
    loop = asyncio.get_running_loop()
    timeout = min(ctx.options.answer_timeout, 2.0)
    families = malformed_requests(ctx)

    def check(req: dict[str, Any]) -> tuple[str, Any] | None:
        answer = blocking(loop, ctx.request(req, timeout), timeout + 5)
        if answer.result is None:
            alive = blocking(loop, probe(ctx, timeout), timeout + 5)
            if alive.result is None:
                raise TargetDead("the device stopped answering after this request (crashed?)")
            return (f"hang: no answer within {timeout:g} s", None)
        if answer.status == "ok":
            return ("silent acceptance: an invalid request was answered ok", answer.result)
        code = answer.error.get("code")
        if code not in ERRORS:
            return (f"error code {code!r} is not a DHI code", answer.result)
        return None

    share = max(3, ctx.options.fuzz_examples // len(families))
    total = FuzzRun()
    for name, strategy in families.items():
        run = await asyncio.to_thread(
            run_property, strategy, check, examples=share, keep=lambda r: request_problem(ctx, r) is not None
        )
        total.tried += run.tried
        total.failures += [FuzzFailure(f.example, f"{name}: {f.reason}", f.got) for f in run.failures]
        if run.dead is not None:
            total.dead = FuzzFailure(run.dead.example, f"{name}: {run.dead.reason}")
            break
    return _report(total, "request", "R12.4.1-2", "an error result with a §6.4 code, and the device keeps "
                   "answering", "answered with errors carrying §6.4 codes")  # fmt: skip


def garbage() -> st.SearchStrategy[bytes]:
    """Payloads no request parser should accept: binary, broken UTF-8/JSON, JSON that is no object."""
    return st.one_of(
        st.binary(max_size=64),
        st.just(b'\xff\xfe{"id": "x"}'),
        st.text(max_size=40).map(str.encode),
        JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(orjson.dumps),
        st.sampled_from([b"{", b'{"id": NaN}', b"[]", b"null", b'{"id": "a", }', b"{}" * 3, b"{" * 2000]),
    )


@case("DHI-FUZZ-1.2", "Garbage on …/cmd (not JSON, not an object) is dropped: no answer, no crash",
      section="§12.4.3", target=DEVICE, tier=Tier.FUZZ, phase=Phase.FUZZ, rules=("R12.4.3-1",))  # fmt: skip
async def fuzz_garbage(ctx: DeviceContext) -> Evidence:
    ctx.require_desc()
    loop = asyncio.get_running_loop()
    timeout = min(ctx.options.answer_timeout, 2.0)

    async def send_then_probe(payload: bytes) -> tuple[list[Any], Any]:
        mark = await ctx.session.send(payload)
        alive = await probe(ctx, timeout)
        results = [m.json() for m in ctx.session.messages if m.seq > mark and m.sub == "cmd/result"]
        probe_id = alive.sent["id"]
        return [r for r in results if not r or r.get("id") != probe_id], alive

    def check(payload: bytes) -> tuple[str, Any] | None:
        others, alive = blocking(loop, send_then_probe(payload), 2 * timeout + 5)
        if alive.result is None:
            raise TargetDead("the device stopped answering after this payload (crashed?)")
        if others:
            accepted = any(r and r.get("status") == "ok" for r in others)
            return ("garbage was accepted (answered ok)" if accepted else "garbage was answered; it must be dropped",
                    others)  # fmt: skip
        return None

    run = await asyncio.to_thread(
        run_property, garbage(), check, examples=max(10, ctx.options.fuzz_examples // 2)
    )
    for f in [run.dead, *run.failures]:
        if f is not None and isinstance(f.example, bytes):
            object.__setattr__(f, "example", f.example.decode("utf-8", "backslashreplace"))
    return _report(run, "payload", "R12.4.3-1", "no answer at all, and the device keeps answering valid "
                   "requests", "dropped without an answer; the device kept answering")  # fmt: skip
