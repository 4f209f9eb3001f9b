"""STATE, UNIT-1.2, EVT-1.1 and SAFE-1.2 cases: what the device reports about itself."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from conformance.device.context import DeviceContext, Instance, bounds
from conformance.device.session import Seen
from conformance.outcome import Failed, NotApplicable, passed, require
from conformance.registry import Phase, case
from dhi.catalog import check_params, check_value
from dhi.errors import HubError, OutOfRange
from dhi.models import EventReport, StateReport
from dhi.models.catalog import Access, PropertyDef, ValueType
from dhi.models.conformance import Evidence, Profile, TargetKind

DEVICE = TargetKind.DEVICE


def _reports(ctx: DeviceContext) -> list[tuple[Seen, StateReport]]:
    """Every state report seen that parses as a StateReport (the others fail DHI-MSG-1.x)."""
    out = []
    for m in ctx.state_messages():
        doc = m.json()
        if doc is None:
            continue
        try:
            out.append((m, StateReport.model_validate(doc)))
        except ValidationError:
            continue
    return out


def _value_problem(prop: PropertyDef, value: Any, inst: Instance) -> tuple[str, str] | None:
    """("type"|"range", reason) when ``value`` does not fit ``prop`` on this instance."""
    c = inst.constraint(prop.name)
    try:
        check_value(prop, value, f"properties.{prop.name}", c)
    except OutOfRange as exc:
        return ("range", exc.message)
    except HubError as exc:
        return ("type", exc.message)
    step = c.step if c is not None and c.step else prop.step
    if step and isinstance(value, int | float) and not isinstance(value, bool) and prop.type in (
        ValueType.INTEGER, ValueType.NUMBER
    ):  # fmt: skip
        lo, _ = bounds(prop, c)
        k = (value - (lo or 0)) / step
        if not math.isclose(k, round(k), abs_tol=1e-6):
            return ("range", f"properties.{prop.name}: {value} is not on the step {step} grid")
    return None


@case("DHI-STATE-1.1", "Every capability with properties has a retained state report", section="§12.3.2",
      target=DEVICE, phase=Phase.OBSERVE)  # fmt: skip
async def retained_state(ctx: DeviceContext) -> Evidence:
    missing: list[str] = []
    found: list[str] = []
    for inst in ctx.instances():
        if not [p for p in inst.properties() if Access.READ in p.access or Access.NOTIFY in p.access]:
            continue
        sub = f"state/{inst.component}/{inst.id}"
        seen = ctx.session.retained(sub)
        (found if seen is not None and seen.payload else missing).append(sub)
    if not missing and not found:
        raise NotApplicable("the device has no readable properties")
    require(
        not missing,
        "no retained state for: " + ", ".join(missing),
        expected=[f"{ctx.session.base}/{s} (retained)" for s in missing],
        got="not retained" if any(ctx.session.latest(s) for s in missing) else "nothing",
    )
    return passed(f"{len(found)} retained state topics", got=found)


@case("DHI-STATE-1.2", "A state report's component and capability equal its topic levels", section="§12.3.2",
      target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def state_topic_matches(ctx: DeviceContext) -> Evidence:
    reports = _reports(ctx)
    if not reports:
        raise NotApplicable("no readable state report seen")
    bad = [
        {"topic": m.topic, "payload": {"component": r.component, "capability": r.capability}}
        for m, r in reports
        if m.sub != f"state/{r.component}/{r.capability}"
    ]
    require(
        not bad, f"{len(bad)} state report(s) disagree with their topic", expected="same levels", got=bad[:5]
    )
    return passed(f"{len(reports)} state reports checked")


@case("DHI-STATE-1.3", "State reports carry properties of the capability with values of the catalog type",
      section="§5.1", target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def state_types(ctx: DeviceContext) -> Evidence:
    return _check_values(ctx, "type")


@case("DHI-UNIT-1.2", "Reported values lie inside the catalog's range, step and enum (catalog units)",
      section="§4.2", target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def state_ranges(ctx: DeviceContext) -> Evidence:
    return _check_values(ctx, "range")


def _check_values(ctx: DeviceContext, kind: str) -> Evidence:
    reports = _reports(ctx)
    if not reports:
        raise NotApplicable("no readable state report seen")
    problems: list[dict[str, Any]] = []
    values = 0
    for m, r in reports:
        inst = ctx.find(r.capability, r.component)
        if inst is None:
            if kind == "type":
                problems.append(
                    {"topic": m.topic, "reason": f"{r.component}/{r.capability} is not in the description"}
                )
            continue
        allowed = {p.name: p for p in inst.properties()}
        for name, value in r.properties.items():
            values += 1
            prop = allowed.get(name)
            if prop is None:
                if kind == "type":
                    problems.append(
                        {"topic": m.topic, "reason": f"{r.capability} has no property {name!r} here"}
                    )
                continue
            found = _value_problem(prop, value, inst)
            if found is not None and found[0] == kind:
                problems.append({"topic": m.topic, "value": value, "reason": found[1]})
    require(not problems, f"{len(problems)} value(s) do not fit the catalog: {problems[0]['reason']}" if problems
            else "", expected="catalog types, ranges and units", got=problems[:10])  # fmt: skip
    return passed(f"{values} values in {len(reports)} reports checked")


@case("DHI-EVT-1.1", "Events name an event of the capability and carry the catalog payload", section="§5.2",
      target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def events_valid(ctx: DeviceContext) -> Evidence:
    events = [m for m in ctx.session.messages if m.sub == "event" and m.payload]
    if not events:
        raise NotApplicable("the device published no event during the run")
    problems = []
    for m in events:
        doc = m.json()
        if doc is None:
            continue  # DHI-MSG-1.1
        try:
            ev = EventReport.model_validate(doc)
        except ValidationError:
            continue  # DHI-MSG-1.2
        inst = ctx.find(ev.capability, ev.component)
        if inst is None or ev.event not in inst.event_names():
            problems.append(
                {"event": doc, "reason": f"{ev.component}/{ev.capability} has no event {ev.event!r}"}
            )
            continue
        definition = inst.definition.event(ev.event)
        assert definition is not None
        try:
            check_params(definition.payload, ev.payload, "payload")
        except HubError as exc:
            problems.append({"event": doc, "reason": exc.message, "expected": definition.payload})
    require(not problems, f"{len(problems)} invalid event(s): {problems[0]['reason']}" if problems else "",
            got=problems[:5])  # fmt: skip
    return passed(f"{len(events)} events checked")


@case("DHI-SAFE-1.2", "A battery-powered safety device reports its battery state", section="§8.2",
      target=DEVICE, profile=Profile.SAFETY, needs=("dhi.battery",), phase=Phase.OBSERVE)  # fmt: skip
async def battery_reported(ctx: DeviceContext) -> Evidence:
    inst = ctx.find("dhi.battery")
    if inst is None:
        raise Failed("dhi.battery is claimed but not in the description")
    values = ctx.current(inst.component, inst.id)
    have = [k for k in ("percentage", "low") if k in values]
    require(bool(have), "no battery percentage or low flag reported: low-battery alerts cannot work",
            expected="state/…/dhi.battery with percentage or low", got=values)  # fmt: skip
    return passed("battery " + ", ".join(f"{k}={values[k]}" for k in have))
