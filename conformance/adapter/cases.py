"""ADP and CLAIM-2 cases: an adapter plugin's contract, its live reports, commands, mapping
tables, restart safety and event-loop manners."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.sdk.report import DeviceMapping
from conformance.adapter.target import AdapterRun
from conformance.device.context import Instance, params_example, valid_other
from conformance.fuzz import run_property
from conformance.outcome import Errored, Failed, NotApplicable, Warned, passed, require
from conformance.registry import Phase, case
from dhi.catalog import check_value
from dhi.checks import check_description
from dhi.errors import ERRORS, HubError
from dhi.models import CommandRequest, CommandResult, DeviceDescription
from dhi.models.catalog import ValueType
from dhi.models.conformance import Evidence, TargetKind

ADAPTER = TargetKind.ADAPTER
NOT_NOW = frozenset({"unsupported", "adapter_error", "device_unavailable"})


def instances(ctx: AdapterRun, desc: DeviceDescription) -> list[Instance]:
    out = []
    for comp in desc.components:
        for inst in comp.capabilities:
            definition = inst.definition if inst.definition is not None else ctx.catalog.get(inst.id)
            if definition is not None:
                out.append(Instance(comp.id, inst, definition))
    return out


async def execute(ctx: AdapterRun, adapter: Any, cmd: CommandRequest) -> CommandResult:
    """``adapter.execute`` with the suite's timeout; exceptions are the caller's business."""
    async with ctx.monitor.watch("execute()"), asyncio.timeout(ctx.options.command_timeout):
        result = await adapter.execute(cmd)
    if not isinstance(result, CommandResult):
        raise Failed(
            f"execute() returned {type(result).__name__}, not a CommandResult", sent=cmd.model_dump()
        )
    return result


def request(device: str, inst: Instance, command: str, params: dict[str, Any], n: int) -> CommandRequest:
    return CommandRequest(id=f"dhi-conf-{n}", device=device, component=inst.component, capability=inst.id,
                          command=command, params=params, timeout=10)  # fmt: skip


@case("DHI-ADP-1.1", "The plugin loads through its entry point and has the adapter contract", section="§10",
      target=ADAPTER, phase=Phase.OBSERVE)  # fmt: skip
async def contract(ctx: AdapterRun) -> Evidence:
    require(ctx.cls is not None, f"the adapter cannot be loaded: {ctx.load_error}",
            expected="class with name, config_model, start(ctx), execute(cmd), stop()")  # fmt: skip
    cls = ctx.require_class()
    return passed(f"{cls.__module__}.{cls.__qualname__} (name {cls.name!r})")


@case("DHI-ADP-1.2", "The configuration model accepts the fixture config and refuses unknown keys clearly",
      section="§10", target=ADAPTER, phase=Phase.OBSERVE)  # fmt: skip
async def config_model(ctx: AdapterRun) -> Evidence:
    cls = ctx.require_class()
    try:
        ctx.config()
    except ValidationError as exc:
        raise Failed(
            f"the fixture config is refused: {exc.errors()[0]['msg']}", sent=ctx.setup.get("config")
        ) from None
    bogus = {**(ctx.setup.get("config") or {}), "dhi_conformance_bogus": 1}
    try:
        cls.config_model.model_validate(bogus)
    except ValidationError:
        return passed("fixture config valid; unknown key refused with a validation error")
    except Exception as exc:
        raise Failed(
            f"a config with an unknown key crashed the model: {type(exc).__name__}: {exc}", sent=bogus
        ) from None
    raise Warned("a misspelt config key is silently ignored (use extra='forbid')", sent=bogus)


@case("DHI-ADP-2.1", "Started on its fixtures, the adapter publishes valid descriptions with "
      "'<instance>:<native id>' ids", section="§3.2", target=ADAPTER, phase=Phase.OBSERVE)  # fmt: skip
async def live_devices(ctx: AdapterRun) -> Evidence:
    try:
        _, hub = await ctx.running()
    except Errored as exc:
        raise Failed(str(exc.evidence.message)) from None
    refused = [r for r in hub.refused if r.startswith("device ")]
    require(not refused, f"{len(refused)} description(s) the hub would refuse", got=refused[:5])
    require(bool(hub.devices), "the adapter published no device", expected="at least one device")
    return passed(f"{len(hub.devices)} devices: " + ", ".join(sorted(hub.devices)[:10]))


@case("DHI-ADP-2.2", "Every state report and event fits the description and the catalog", section="§5.1",
      target=ADAPTER, phase=Phase.SWEEP)  # fmt: skip
async def live_reports(ctx: AdapterRun) -> Evidence:
    _, hub = await ctx.running()
    refused = [r for r in hub.refused if not r.startswith("device ")]
    require(not refused, f"{len(refused)} report(s) the hub would refuse: {refused[0]}" if refused else "",
            got=refused[:10])  # fmt: skip
    require(not hub.crashes, f"a task of the adapter crashed: {hub.crashes[0]!r}" if hub.crashes else "")
    return passed(f"{len(hub.states)} state reports, {len(hub.events)} events accepted")


@case("DHI-CLAIM-2.1", "Every claimed capability appears in a description the adapter produces",
      section="§10.2", target=ADAPTER, phase=Phase.SWEEP)  # fmt: skip
async def claims_backed(ctx: AdapterRun) -> Evidence:
    have: set[str] = set()
    if ctx.hub is not None:
        have |= {c for d in ctx.hub.devices.values() for c in d.capability_ids()}
    cls = ctx.cls
    if cls is not None and callable(getattr(cls, "map_offline", None)):
        for path in ctx.recorded():
            try:
                have |= {c for m in cls.map_offline(ctx.load_recorded(path)) if m.description
                         for c in m.description.capability_ids()}  # fmt: skip
            except Exception:  # noqa: S112 - DHI-ADP-4.1 reports unreadable recordings
                continue
    missing = sorted(set(ctx.claims.capabilities) - have)
    require(not missing, "claimed but never produced: " + ", ".join(missing), got=sorted(have))
    return passed(f"{len(ctx.claims.capabilities)} claimed capabilities produced")


def _targets(ctx: AdapterRun, hub: Any) -> list[tuple[str, Instance]]:
    return [(dev, inst) for dev, desc in sorted(hub.devices.items()) for inst in instances(ctx, desc)]


@case("DHI-ADP-3.1", "Valid commands get a CommandResult with their id (ok, or a 'not now' error)",
      section="§6", target=ADAPTER)  # fmt: skip
async def valid_commands(ctx: AdapterRun) -> Evidence:
    adapter, hub = await ctx.running()
    sent, bad, n = 0, [], 0
    for dev, inst in _targets(ctx, hub):
        current = hub.current(dev, inst.component, inst.id)
        todo = [
            ("set", {p.name: current.get(p.name, valid_other(p, inst.constraint(p.name), None))})
            for p in inst.writable()
        ]
        todo += [
            (c.name, params) for c in inst.commands() if (params := params_example(c.params)) is not None
        ]
        for command, params in todo:
            n += 1
            cmd = request(dev, inst, command, params, n)
            try:
                result = await execute(ctx, adapter, cmd)
            except Failed:
                raise
            except Exception as exc:
                bad.append({"sent": cmd.model_dump(mode="json"), "got": f"{type(exc).__name__}: {exc}"})
                continue
            sent += 1
            code = result.error.code if result.error else None
            if result.id != cmd.id or (code is not None and code not in NOT_NOW):
                bad.append({"sent": cmd.model_dump(mode="json"), "got": result.model_dump(mode="json")})
    if not sent and not bad:
        raise NotApplicable("no device with a writable property or command")
    require(not bad, f"{len(bad)} valid command(s) failed", expected="CommandResult with the same id, status ok",
            got=bad[:5])  # fmt: skip
    return passed(f"{sent} commands answered")


@case("DHI-ADP-3.2", "Setting a property round-trips: the adapter reports the value that was set",
      section="§6", target=ADAPTER)  # fmt: skip
async def round_trip(ctx: AdapterRun) -> Evidence:
    adapter, hub = await ctx.running()
    checked, wrong = 0, []
    for dev, inst in _targets(ctx, hub):
        for prop in inst.writable():
            before = hub.current(dev, inst.component, inst.id).get(prop.name)
            value = valid_other(prop, inst.constraint(prop.name), before)
            cmd = request(dev, inst, "set", {prop.name: value}, 1000 + checked)
            mark = len(hub.states)
            result = await execute(ctx, adapter, cmd)
            if result.status.value != "ok":
                continue
            checked += 1
            await asyncio.sleep(0.05)
            got = [s.properties[prop.name] for s in hub.states[mark:]
                   if (s.device, s.capability, s.component) == (dev, inst.id, inst.component) and prop.name in s.properties]  # fmt: skip
            tol = 0.6 if prop.type is ValueType.NUMBER else 0  # converters may round to the vendor's grid
            if not got or not _close(got[-1], value, tol):
                wrong.append({"sent": cmd.model_dump(mode="json"), "reported": got[-1] if got else None})
    if not checked:
        raise NotApplicable("no writable property accepted a set")
    require(not wrong, f"{len(wrong)} set(s) reported a different value (or none)", got=wrong[:5])
    return passed(f"{checked} properties round-tripped")


def _close(a: Any, b: Any, tol: float) -> bool:
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return math.isclose(a, b, abs_tol=tol)
    return bool(a == b)


@case("DHI-ADP-3.3", "Invalid commands get an error result with a DHI code, never an exception",
      section="§6.4", target=ADAPTER)  # fmt: skip
async def invalid_commands(ctx: AdapterRun) -> Evidence:
    adapter, hub = await ctx.running()
    targets = _targets(ctx, hub)
    if not targets:
        raise NotApplicable("no device")
    dev, inst = targets[0]
    cases = [
        request(f"{ctx.instance}:dhi-conformance-none", inst, "set", {}, 1),
        request(dev, inst, "dhi_conformance_none", {}, 2),
        CommandRequest(
            id="dhi-conf-3",
            device=dev,
            component=inst.component,
            capability="dhi.dhi_conformance_none",
            command="set",
            params={"x": 1},
        ),
    ]
    if inst.writable():
        cases.append(request(dev, inst, "set", {inst.writable()[0].name: {"not": "a value"}}, 4))
    bad = []
    for cmd in cases:
        try:
            result = await execute(ctx, adapter, cmd)
        except Failed:
            raise
        except Exception as exc:
            bad.append({"sent": cmd.model_dump(mode="json"), "got": f"raised {type(exc).__name__}: {exc}"})
            continue
        if result.status.value != "error" or result.error is None or result.error.code not in ERRORS:
            bad.append({"sent": cmd.model_dump(mode="json"), "got": result.model_dump(mode="json")})
    require(not bad, f"{len(bad)} invalid command(s) not answered with an error", got=bad)
    return passed(f"{len(cases)} invalid commands answered with errors")


def _mapping_problems(ctx: AdapterRun, m: DeviceMapping) -> list[str]:
    out = []
    if m.description is None and not m.unmapped:
        out.append(f"{m.id}: neither a description nor unmapped features")
    if m.description is not None:
        try:
            check_description(m.description, ctx.catalog)
        except HubError as exc:
            out.append(f"{m.id}: {exc.message}")
    if m.features != m.standard + m.vendor + len(m.unmapped):
        out.append(
            f"{m.id}: features {m.features} != standard {m.standard} + vendor {m.vendor} + unmapped {len(m.unmapped)}"
        )
    out += [f"{m.id}: unmapped {u.feature!r} without a reason" for u in m.unmapped if not u.reason.strip()]
    return out


@case("DHI-ADP-4.1", "Recorded vendor data maps to valid descriptions, every feature accounted for",
      section="§4", target=ADAPTER, phase=Phase.OBSERVE)  # fmt: skip
async def offline_mapping(ctx: AdapterRun) -> Evidence:
    cls = ctx.require_class()
    files = ctx.recorded()
    if not callable(getattr(cls, "map_offline", None)) or not files:
        raise NotApplicable("no map_offline, or no recorded/ data in the fixtures")
    problems, devices, unmapped = [], 0, 0
    for path in files:
        try:
            mappings = cls.map_offline(ctx.load_recorded(path))
        except Exception as exc:
            problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        devices += len(mappings)
        unmapped += sum(len(m.unmapped) for m in mappings)
        problems += [f"{path.name}: {p}" for m in mappings for p in _mapping_problems(ctx, m)]
    require(
        not problems,
        f"{len(problems)} mapping problem(s): {problems[0]}" if problems else "",
        got=problems[:10],
    )
    require(devices > 0, "the recorded data produced no device")
    return passed(
        f"{devices} devices from {len(files)} files; {unmapped} features left unmapped (with reasons)"
    )


@case("DHI-ADP-4.2", "Declared mapping rows convert both ways: from_hub(to_hub) keeps the DHI value",
      section="§4", target=ADAPTER, phase=Phase.OBSERVE)  # fmt: skip
async def converter_round_trip(ctx: AdapterRun) -> Evidence:
    cls = ctx.require_class()
    rows_of = getattr(cls, "mapping_rows", None)
    if not callable(rows_of):
        raise NotApplicable("the adapter declares no mapping_rows() (optional)")
    rows = list(rows_of())
    vendor = {}
    if ctx.hub is not None:  # vendor capabilities are defined in the descriptions that use them
        vendor = {
            i.id: i.definition
            for d in ctx.hub.devices.values()
            for i in instances(ctx, d)
            if i.id.startswith("x.")
        }
    checked, broken = 0, []
    for row in rows:
        definition = vendor.get(row.capability) or ctx.catalog.get(row.capability)
        prop = definition.property(row.property) if definition else None
        if prop is None:
            if not row.capability.startswith("x."):
                broken.append(f"{row.source}: {row.capability}.{row.property} is not a catalog property")
            continue
        if row.convert.from_hub is None or prop.type not in (
            ValueType.NUMBER,
            ValueType.INTEGER,
            ValueType.BOOLEAN,
        ):
            continue
        checked += 1
        values = (st.booleans() if prop.type is ValueType.BOOLEAN else
                  st.floats(prop.minimum if prop.minimum is not None else -1e6,
                            prop.maximum if prop.maximum is not None else 1e6))  # fmt: skip
        tol = (abs((prop.maximum or 100) - (prop.minimum or 0)) or 1) / 100

        def check(v: Any, row: Any = row, tol: float = tol, prop: Any = prop) -> tuple[str, Any] | None:
            back = row.to_hub(row.from_hub(v))
            try:
                check_value(prop, back, row.property)
            except HubError as exc:
                return (f"{row.source}: {exc.message}", back)
            return None if _close(back, v, tol) else (f"{row.source}: {v!r} came back as {back!r}", back)

        run = await asyncio.to_thread(run_property, values, check, examples=30)
        worst = run.minimal()
        if worst is not None:
            broken.append(f"{worst.reason} (for {worst.example!r})")
    require(not broken, f"{len(broken)} row(s) do not round-trip: {broken[0]}" if broken else "", got=broken)
    return passed(f"{checked} of {len(rows)} rows round-tripped over their catalog range")


@case("DHI-ADP-5.1", "Restart safety: a fresh instance after stop() publishes the same devices", section="§10",
      target=ADAPTER, phase=Phase.DISRUPT)  # fmt: skip
async def restart(ctx: AdapterRun) -> Evidence:
    _, hub = await ctx.running()
    before = {k: v.model_dump(mode="json") for k, v in hub.devices.items()}
    adapter = ctx.adapter
    await ctx.stop()
    try:
        await adapter.stop()  # stop twice: the supervisor may do so after a crash
    except Exception as exc:
        raise Failed(f"a second stop() raised {type(exc).__name__}: {exc}") from None
    ctx.adapter, ctx.hub = await ctx.start()
    after = {k: v.model_dump(mode="json") for k, v in ctx.hub.devices.items()}
    require(sorted(before) == sorted(after), "the device ids changed across a restart",
            expected=sorted(before), got=sorted(after))  # fmt: skip
    changed = sorted(k for k in before if before[k] != after.get(k))
    require(not changed, "descriptions changed across a restart: " + ", ".join(changed))
    require(not ctx.hub.removed, "devices were removed on restart: " + ", ".join(ctx.hub.removed))
    return passed(f"{len(after)} devices identical after stop → stop → start")


@case("DHI-ADP-5.2", "The adapter never blocks the event loop", section="§10", target=ADAPTER,
      phase=Phase.SWEEP)  # fmt: skip
async def loop_manners(ctx: AdapterRun) -> Evidence:
    await ctx.running()
    worst = ctx.monitor.worst
    limit = ctx.options.max_stall
    require(worst <= limit, f"the event loop stalled for {worst * 1000:.0f} ms in {ctx.monitor.where} (blocking "
            "I/O or time.sleep in a coroutine?)", expected=f"≤ {limit * 1000:.0f} ms", got=f"{worst * 1000:.0f} ms")  # fmt: skip
    return passed(f"longest stall {worst * 1000:.1f} ms")
