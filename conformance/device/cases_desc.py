"""DESC, UNIT-1 and CLAIM cases of the device target: the retained description and the claims."""

from __future__ import annotations

from conformance.device.context import DeviceContext
from conformance.outcome import Errored, Failed, passed, require
from conformance.registry import Phase, case
from dhi.checks import check_description
from dhi.errors import HubError
from dhi.models.catalog import ValueType
from dhi.models.conformance import Evidence, Profile, TargetKind

DEVICE = TargetKind.DEVICE

#: profile -> capability categories of which a product claiming it must have at least one
PROFILE_CATEGORIES: dict[Profile, frozenset[str]] = {
    Profile.SAFETY: frozenset({"safety"}),
    Profile.CARE: frozenset({"care"}),
    Profile.SECURITY: frozenset({"security"}),
    Profile.ENERGY: frozenset({"energy", "metering"}),
}


@case("DHI-DESC-1.1", "A retained device description is published on …/desc", section="§12.1",
      target=DEVICE, phase=Phase.OBSERVE, rules=("R12.1-4",))  # fmt: skip
async def desc_retained(ctx: DeviceContext) -> Evidence:
    topic = f"{ctx.session.base}/desc"
    seen = ctx.session.retained("desc")
    if seen is None:
        live = ctx.session.latest("desc")
        raise Failed(
            "R12.1-4: no retained description: a hub that subscribes later never learns the device",
            expected=f"a retained JSON description on {topic}",
            got="a live, not retained, description" if live else "nothing",
        )
    require(bool(seen.payload), "R12.1-4: the retained description is empty (a removed device)", got="")
    return passed(f"R12.1-4: retained description on {topic} ({len(seen.payload)} bytes)")


@case("DHI-DESC-1.2", "The description's id names the device of its topic", section="§12.3.1",
      target=DEVICE, phase=Phase.OBSERVE, rules=("R12.3.1-1",))  # fmt: skip
async def desc_id_matches(ctx: DeviceContext) -> Evidence:
    desc = ctx.require_desc()
    scheme, _, native = desc.id.partition(":")
    device = ctx.session.device
    require(
        native == device,
        f"R12.3.1-1: id {desc.id!r} does not name the device of the topic; a hub rejects the description",
        expected=f"<scheme>:{device}",
        got=desc.id,
    )
    return passed(f"R12.3.1-1: id {desc.id} (scheme {scheme!r}) names the device {device!r}")


@case("DHI-DESC-1.3", "Every capability is in the catalog or a vendor capability with a definition, "
      "and lists only its real members", section="§12.3.1", target=DEVICE, phase=Phase.OBSERVE,
      rules=("R12.3.1-2",))  # fmt: skip
async def desc_capabilities(ctx: DeviceContext) -> Evidence:
    desc = ctx.require_desc()
    try:
        check_description(desc, ctx.catalog)
    except HubError as exc:
        raise Failed(
            f"R12.3.1-2: {exc.message}",
            expected=exc.expected or "catalog capabilities and members",
            got=exc.field,
        ) from None
    return passed(
        f"R12.3.1-2: {len(desc.capability_ids())} capabilities: " + ", ".join(desc.capability_ids())
    )


@case("DHI-UNIT-1.1", "Units are DHI units (UCUM symbols of units.yaml) and constraints stay inside "
      "the catalog range", section="§12.3.1", target=DEVICE, phase=Phase.OBSERVE, rules=("R12.3.1-3",))  # fmt: skip
async def desc_units(ctx: DeviceContext) -> Evidence:
    problems = []
    checked = 0
    for inst in ctx.instances():
        where = f"{inst.component}/{inst.id}"
        if inst.inst.definition is not None:
            for prop in inst.definition.properties:
                if prop.unit is not None:
                    checked += 1
                    if prop.unit not in ctx.catalog.units:
                        problems.append(f"{where}.{prop.name}: unit {prop.unit!r} is not a DHI unit")
        catalog_def = ctx.catalog.get(inst.id)
        for name, c in (inst.inst.constraints or {}).items():
            cprop = catalog_def.property(name) if catalog_def is not None else None
            if cprop is None or cprop.type not in (ValueType.INTEGER, ValueType.NUMBER):
                continue
            checked += 1
            if cprop.minimum is not None and c.minimum is not None and c.minimum < cprop.minimum:
                problems.append(
                    f"{where}.{name}: constraint minimum {c.minimum} < catalog {cprop.minimum} {cprop.unit or ''}"
                )
            if cprop.maximum is not None and c.maximum is not None and c.maximum > cprop.maximum:
                problems.append(
                    f"{where}.{name}: constraint maximum {c.maximum} > catalog {cprop.maximum} {cprop.unit or ''}"
                )
    if problems:
        raise Failed(
            "R12.3.1-3: " + "; ".join(problems),
            expected="units from spec/interface/units.yaml: " + ", ".join(sorted(ctx.catalog.units)),
            got=problems,
        )
    return passed(f"R12.3.1-3: {checked} units/constraints checked, all DHI units inside the catalog ranges")


@case("DHI-CLAIM-1.1", "Every claimed capability is in the device's description", section="§10.2",
      target=DEVICE, phase=Phase.OBSERVE)  # fmt: skip
async def claimed_capabilities(ctx: DeviceContext) -> Evidence:
    have = set(ctx.require_desc().capability_ids())
    missing = [c for c in ctx.claims.capabilities if c not in have]
    require(not missing, "claimed but not offered: " + ", ".join(missing), expected=sorted(ctx.claims.capabilities),
            got=sorted(have))  # fmt: skip
    return passed("all claimed capabilities present", got=sorted(have))


@case("DHI-CLAIM-1.2", "Every claimed profile is backed by a capability of its kind", section="§10.2",
      target=DEVICE, phase=Phase.OBSERVE)  # fmt: skip
async def claimed_profiles(ctx: DeviceContext) -> Evidence:
    categories = {i.definition.category for i in ctx.instances()}
    if not categories:
        raise Errored("the description names no capability this suite knows")
    unbacked = [
        p.value
        for p in ctx.claims.profiles
        if p in PROFILE_CATEGORIES and not categories & PROFILE_CATEGORIES[p]
    ]
    require(not unbacked, "claimed profile without a capability of its kind: " + ", ".join(unbacked),
            expected={p: sorted(c) for p, c in PROFILE_CATEGORIES.items()}, got=sorted(categories))  # fmt: skip
    return passed("profiles " + ", ".join(p.value for p in ctx.claims.profiles), got=sorted(categories))
