"""STATE, UNIT-1.2, EVT-1.1 and SAFE-1.2 cases: what the device reports about itself."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from conformance.device.context import DeviceContext, Instance
from conformance.device.session import Seen
from conformance.outcome import Errored, Failed, NotApplicable, Warned, passed, require
from conformance.registry import Phase, case
from dhi.catalog import check_params, check_value
from dhi.errors import HubError, OutOfRange
from dhi.models import EventReport, StateReport
from dhi.models.catalog import Access, PropertyDef
from dhi.models.conformance import Evidence, Profile, TargetKind

DEVICE = TargetKind.DEVICE


def _reports(ctx: DeviceContext) -> list[tuple[Seen, StateReport]]:
    """Every state report seen that parses as a StateReport. None readable is not "nothing to
    check": the case errors, naming the case that judges the payloads (MSG-1.1/1.2) or their
    absence (STATE-1.1)."""
    out = []
    causes: list[str] = []
    for m in ctx.state_messages():
        doc = m.json()
        try:
            out.append((m, StateReport.model_validate(doc)))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "(document)"
            causes.append(f"{m.topic}: not JSON (see DHI-MSG-1.1)" if doc is None
                          else f"{m.topic}: {where}: {err['msg']} (see DHI-MSG-1.2)")  # fmt: skip
    if out:
        return out
    if causes:
        raise Errored(f"none of the {len(causes)} state reports is readable, e.g. {causes[0]}")
    if any(i.properties() for i in ctx.instances()):
        raise Errored("the device published no state report (see DHI-STATE-1.1)")
    raise NotApplicable("the description declares no property")


def _value_problem(prop: PropertyDef, value: Any, inst: Instance) -> tuple[str, str] | None:
    """("type"|"range", reason) when ``value`` does not fit ``prop`` on this instance. ``step``
    binds what commands write, not what is measured (R12.3.2-4), so it is not checked here."""
    try:
        check_value(prop, value, f"properties.{prop.name}", inst.constraint(prop.name))
    except OutOfRange as exc:
        return ("range", exc.message)
    except HubError as exc:
        return ("type", exc.message)
    return None


@case("DHI-STATE-1.1", "Every capability with properties has a retained state report", section="§12.3.2",
      target=DEVICE, phase=Phase.OBSERVE, rules=("R12.3.2-1",))  # fmt: skip
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
        raise NotApplicable("the description declares no readable property")
    require(
        not missing,
        "R12.3.2-1: no retained state for: " + ", ".join(missing),
        expected=[f"{ctx.session.base}/{s} (retained)" for s in missing],
        got="not retained" if any(ctx.session.latest(s) for s in missing) else "nothing",
    )
    return passed(f"R12.3.2-1: {len(found)} retained state topics", got=found)


@case("DHI-STATE-1.2", "A state report's component and capability equal its topic levels", section="§12.3.2",
      target=DEVICE, phase=Phase.SWEEP, rules=("R12.3.2-2",))  # fmt: skip
async def state_topic_matches(ctx: DeviceContext) -> Evidence:
    reports = _reports(ctx)
    bad = [
        {"topic": m.topic, "payload": {"component": r.component, "capability": r.capability}}
        for m, r in reports
        if m.sub != f"state/{r.component}/{r.capability}"
    ]
    require(not bad, f"R12.3.2-2: {len(bad)} state report(s) name another component/capability than their "
            f"topic, e.g. {bad[0]['topic']}" if bad else "", expected="same levels", got=bad[:5])  # fmt: skip
    return passed(f"R12.3.2-2: {len(reports)} state reports match their topics")


@case("DHI-STATE-1.3", "State reports carry declared properties with values of the catalog type",
      section="§12.3.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.3.2-3",))  # fmt: skip
async def state_types(ctx: DeviceContext) -> Evidence:
    return _check_values(ctx, "type")


@case("DHI-UNIT-1.2", "Reported values lie inside the catalog's range and enum (catalog units; step binds "
      "only writes)", section="§12.3.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.3.2-4",))  # fmt: skip
async def state_ranges(ctx: DeviceContext) -> Evidence:
    return _check_values(ctx, "range")


def _check_values(ctx: DeviceContext, kind: str) -> Evidence:
    rule = "R12.3.2-3" if kind == "type" else "R12.3.2-4"
    reports = _reports(ctx)
    problems: list[dict[str, Any]] = []
    values = 0
    for m, r in reports:
        if m.sub != f"state/{r.component}/{r.capability}":
            continue  # which instance it is about is unclear: DHI-STATE-1.2 judges that
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
    what = "declared properties of the catalog type" if kind == "type" else "values inside range and enum"
    require(not problems, f"{rule}: {len(problems)} reported value(s) break it, e.g. {problems[0]['reason']}"
            if problems else "", expected=what, got=problems[:10])  # fmt: skip
    return passed(f"{rule}: {values} values in {len(reports)} reports are {what}")


@case("DHI-EVT-1.1", "Events name an event the description declares and carry the catalog payload",
      section="§12.3.3", target=DEVICE, phase=Phase.SWEEP, rules=("R12.3.3-1",))  # fmt: skip
async def events_valid(ctx: DeviceContext) -> Evidence:
    events = [m for m in ctx.session.messages if m.sub == "event" and m.payload]
    if not events:
        if not any(i.event_names() for i in ctx.instances()):
            raise NotApplicable("the description declares no event")
        raise Warned("not verified: the device published no event during the run")
    problems = []
    readable = 0
    for m in events:
        doc = m.json()
        try:
            ev = EventReport.model_validate(doc)
        except ValidationError:
            continue  # judged by DHI-MSG-1.1 / DHI-MSG-1.2
        readable += 1
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
    if not readable:
        raise Errored(f"none of the {len(events)} events is readable (see DHI-MSG-1.1, DHI-MSG-1.2)")
    require(not problems, f"R12.3.3-1: {len(problems)} invalid event(s), e.g. {problems[0]['reason']}"
            if problems else "", got=problems[:5])  # fmt: skip
    return passed(f"R12.3.3-1: {readable} events checked: declared events with catalog payloads")


@case("DHI-SAFE-1.2", "A battery-powered safety device reports its battery state", section="§8.2",
      target=DEVICE, profile=Profile.SAFETY, needs=("dhi.battery",), phase=Phase.OBSERVE)  # fmt: skip
async def battery_reported(ctx: DeviceContext) -> Evidence:
    inst = ctx.find("dhi.battery")
    if inst is None:
        raise Failed("dhi.battery is claimed but not in the description")
    values = ctx.current(inst.component, inst.id)
    if not values:
        if ctx.session.latest(f"state/{inst.component}/{inst.id}") is None:
            raise Errored("no state report of the battery was seen (see DHI-STATE-1.1)")
        raise Errored("the battery's state reports are unreadable (see DHI-MSG-1.1, DHI-MSG-1.2)")
    have = [k for k in ("percentage", "low") if k in values]
    require(bool(have), "no battery percentage or low flag reported: low-battery alerts cannot work",
            expected="state/…/dhi.battery with percentage or low", got=values)  # fmt: skip
    return passed("battery " + ", ".join(f"{k}={values[k]}" for k in have))
