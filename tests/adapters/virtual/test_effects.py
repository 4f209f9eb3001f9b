"""The command effect table: every row names real catalog members, every catalog command has an
effect, and no parameters — however odd — make a virtual device report an invalid value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from adapters.virtual.capdevices import capability_device
from adapters.virtual.effects import (
    EFFECT_INDEX,
    EFFECTS,
    SKIP,
    Add,
    Bound,
    Choose,
    Const,
    Copy,
    Effect,
    Env,
    Param,
    Source,
    Toggle,
    plan_command,
)
from dhi.catalog import check_params, check_value, default_catalog
from dhi.errors import HubError, NotWritable, UnknownProperty, Unsupported
from dhi.models import CapabilityInstance
from dhi.models.catalog import CapabilityDef

CATALOG = default_catalog()
COMMANDS = [(cap.id, cmd.name) for cap in (CATALOG[c] for c in sorted(CATALOG)) for cmd in cap.commands]


def walk(source: Source) -> Iterator[Source]:
    yield source
    match source:
        case Param(otherwise=other) if other is not None:
            yield from walk(other)
        case Choose(choices=choices):
            for inner in choices.values():
                yield from walk(inner)
        case Add(by=by):
            yield from walk(by)


@pytest.mark.parametrize("effect", EFFECTS, ids=[f"{e.capability}.{e.command}" for e in EFFECTS])
def test_effect_rows_name_real_catalog_members(effect: Effect) -> None:
    cap = CATALOG.get(effect.capability)
    assert cap is not None, f"{effect.capability} is not in the catalog"
    cmd = cap.command(effect.command)
    assert cmd is not None, f"{effect.capability} has no command {effect.command}"
    params = set(cmd.params.get("properties", {}))
    assert effect.sets or effect.emits or effect.note, "a row that does nothing must say why (note)"
    for name, source in effect.sets.items():
        prop = cap.property(name)
        assert prop is not None, f"{effect.capability} has no property {name}"
        for inner in walk(source):
            match inner:
                case Param(name=p) | Choose(param=p):
                    assert p in params, f"{effect.command} has no parameter {p}"
                case Copy(prop=other) | Add(upper=str(other)):
                    assert cap.property(other) is not None, f"{effect.capability} has no property {other}"
                case Const(value=value):
                    check_value(prop, value, name)
                case Bound(which=which):
                    assert getattr(prop, which) is not None, f"{name} has no {which}"
    for emit in effect.emits:
        ev = cap.event(emit.event)
        assert ev is not None, f"{effect.capability} has no event {emit.event}"
        check_params(ev.payload, dict(emit.payload), "payload")


def test_no_effect_row_is_listed_twice() -> None:
    assert len(EFFECT_INDEX) == len(EFFECTS)


@pytest.mark.parametrize(("capability", "command"), COMMANDS, ids=[f"{c}.{m}" for c, m in COMMANDS])
def test_every_catalog_command_has_a_row_or_names_properties(capability: str, command: str) -> None:
    """A command without a row must be covered by the fallback (its params name properties)."""
    if (capability, command) in EFFECT_INDEX:
        return
    cap = CATALOG[capability]
    cmd = cap.command(command)
    assert cmd is not None
    named = set(cmd.params.get("properties", {})) & {p.name for p in cap.properties}
    assert named, f"{capability}.{command} has no effect row and no parameter naming a property"


def parts(capability: str) -> tuple[CapabilityInstance, CapabilityDef, dict[str, Any]]:
    template = capability_device(CATALOG[capability])
    inst = template.components[0].capabilities[0]
    return inst, CATALOG[capability], dict(template.initial[("main", capability)])


@pytest.mark.parametrize(("capability", "command"), COMMANDS, ids=[f"{c}.{m}" for c, m in COMMANDS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_valid_params_give_valid_updates(capability: str, command: str, data: st.DataObject) -> None:
    inst, definition, current = parts(capability)
    cmd = definition.command(command)
    assert cmd is not None
    params = data.draw(from_schema(cmd.params), label="params")
    assert isinstance(params, dict)
    try:
        plan = plan_command(inst, definition, command, params, current)
    except HubError as exc:
        # only a value out of the device's range may be refused here (e.g. a step past the end)
        assert exc.code in ("out_of_range", "invalid_params"), exc
        return
    for name, value in plan.updates.items():
        prop = definition.property(name)
        assert prop is not None
        check_value(prop, value, name)
    for emit in plan.events:
        ev = definition.event(emit.event)
        assert ev is not None
        check_params(ev.payload, dict(emit.payload))


@settings(max_examples=50)
@given(
    st.dictionaries(st.text(max_size=10), st.integers() | st.text() | st.booleans() | st.none(), max_size=4)
)
def test_set_with_arbitrary_params_never_crashes(params: dict[str, Any]) -> None:
    inst, definition, current = parts("dhi.thermostat")
    try:
        plan = plan_command(inst, definition, "set", params, current)
    except HubError:
        return
    for name, value in plan.updates.items():
        prop = definition.property(name)
        assert prop is not None and prop.writable
        check_value(prop, value, name)


def test_set_refuses_read_only_and_unknown_properties() -> None:
    inst, definition, current = parts("dhi.smoke_alarm")
    with pytest.raises(NotWritable):
        plan_command(inst, definition, "set", {"smoke": True}, current)
    with pytest.raises(UnknownProperty):
        plan_command(inst, definition, "set", {"fire": True}, current)


def test_a_command_without_effect_is_unsupported() -> None:
    definition = CapabilityDef.model_validate(
        {
            "id": "x.acme.box",
            "category": "vendor",
            "label": {"en": "Box", "zh-CN": "盒"},
            "description": {"en": "Box", "zh-CN": "盒"},
            "properties": [{"name": "open", "type": "boolean", "access": ["read"]}],
            "commands": [{"name": "shake"}, {"name": "put", "params": {"type": "object"}}],
        }
    )
    inst = CapabilityInstance(id="x.acme.box", definition=definition)
    with pytest.raises(Unsupported) as err:
        plan_command(inst, definition, "shake", {}, {"open": False})
    assert err.value.field == "command"
    with pytest.raises(Unsupported):
        plan_command(inst, definition, "put", {"thing": 1}, {"open": False})
    assert plan_command(inst, definition, "put", {"open": True}, {"open": False}).updates == {"open": True}


def test_sources() -> None:
    prop = CATALOG["dhi.level"].property("level")
    assert prop is not None
    env = Env(prop, None, {"level": 40.0}, {"direction": "up", "step_size": 25})
    assert Toggle().resolve(Env(prop, None, {"level": 0}, {})) is True
    assert Add(Param("step_size")).resolve(env) == 65.0
    assert Add(Param("step_size"), sign=-1).resolve(env) == 15.0
    assert Add(Const(100)).resolve(env) == 100
    assert Add(Const(1), upper="max").resolve(Env(prop, None, {"level": 40, "max": 40}, {})) == 40
    assert Add(Param("missing")).resolve(env) is SKIP
    assert Choose("direction", {"down": Const(0)}).resolve(env) is SKIP
    assert Bound("maximum").resolve(env) == 100
    assert Param("nope", otherwise=Copy("level")).resolve(env) == 40.0
    assert Copy("nope").resolve(env) is SKIP
