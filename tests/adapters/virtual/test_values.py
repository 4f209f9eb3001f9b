"""The initial-value generator: every generated value passes the catalog's own check."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from adapters.virtual.values import (
    TYPICAL_BY_NAME,
    TYPICAL_BY_PROPERTY,
    TYPICAL_BY_UNIT,
    NoValidValue,
    example_for_schema,
    initial_value,
)
from dhi.catalog import check_params, check_value, default_catalog
from dhi.errors import HubError
from dhi.models.catalog import PropertyDef
from dhi.models.device import PropertyConstraint

CATALOG = default_catalog()
NAMES = sorted({*TYPICAL_BY_NAME, "level", "temperature", "state", "x"})
UNITS = [None, *sorted(CATALOG.units)]
CAPABILITIES = [None, *sorted(CATALOG)]

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def numeric_props(draw: st.DrawFn) -> tuple[PropertyDef, PropertyConstraint | None]:
    kind = draw(st.sampled_from(["integer", "number"]))
    lo = draw(st.none() | finite)
    hi = draw(st.none() | finite)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    prop = PropertyDef.model_validate(
        {
            "name": draw(st.sampled_from(NAMES)),
            "type": kind,
            "unit": draw(st.sampled_from(UNITS)),
            "minimum": lo,
            "maximum": hi,
            "step": draw(st.none() | st.floats(min_value=0.001, max_value=1000)),
            "access": ["read"],
            "nullable": draw(st.booleans()),
        }
    )
    constraint = None
    if draw(st.booleans()):
        clo = draw(st.none() | finite)
        chi = draw(st.none() | finite)
        constraint = PropertyConstraint(minimum=clo, maximum=chi, step=draw(st.none() | st.just(0.5)))
    return prop, constraint


@st.composite
def other_props(draw: st.DrawFn) -> tuple[PropertyDef, PropertyConstraint | None]:
    kind = draw(st.sampled_from(["boolean", "enum", "string", "object", "array"]))
    data: dict[str, Any] = {
        "name": draw(st.sampled_from(NAMES)),
        "type": kind,
        "access": ["read", "write"],
        "nullable": draw(st.booleans()),
    }
    constraint = None
    if kind == "enum":
        values = draw(
            st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5, unique=True)
        )
        data["enum"] = values
        if draw(st.booleans()):
            constraint = PropertyConstraint(
                enum=draw(st.lists(st.sampled_from(values), min_size=1, unique=True))
            )
    if kind == "string" and draw(st.booleans()):
        data["max_length"] = draw(st.integers(0, 20))
    if kind == "array" and draw(st.booleans()):
        data["schema"] = {"type": "array", "items": {"type": "integer", "minimum": 3}, "minItems": 2}
    if kind == "object" and draw(st.booleans()):
        data["schema"] = {
            "type": "object",
            "properties": {
                "a": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "b": {"enum": ["x"]},
            },
            "required": ["a", "b"],
        }
    return PropertyDef.model_validate(data), constraint


def has_valid_value(prop: PropertyDef, constraint: PropertyConstraint | None) -> bool:
    """Whether any value at all passes (the one case where the generator may give up)."""
    if prop.nullable:
        return True
    lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
    hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
    if lo is not None and hi is not None and lo > hi:
        return False
    if prop.type.value == "integer" and lo is not None and hi is not None:
        return math.ceil(lo) <= math.floor(hi)
    return True


@given(st.one_of(numeric_props(), other_props()), st.sampled_from(CAPABILITIES))
def test_initial_values_always_pass_check_value(
    pc: tuple[PropertyDef, PropertyConstraint | None], capability: str | None
) -> None:
    prop, constraint = pc
    try:
        value = initial_value(prop, constraint, capability)
    except NoValidValue:
        assert not has_valid_value(prop, constraint)
        return
    check_value(prop, value, prop.name, constraint)


@given(numeric_props())
def test_numbers_respect_the_integer_type(pc: tuple[PropertyDef, PropertyConstraint | None]) -> None:
    prop, constraint = pc
    assume(has_valid_value(prop, constraint))
    value = initial_value(prop, constraint)
    if value is not None and prop.type.value == "integer":
        assert type(value) is int


def test_every_catalog_property_gets_a_valid_initial_value() -> None:
    for cap in CATALOG.values():
        for prop in cap.properties:
            value = initial_value(prop, None, cap.id)
            check_value(prop, value, f"{cap.id}.{prop.name}")


@pytest.mark.parametrize(
    ("capability", "prop", "expected"),
    [
        ("dhi.smoke_alarm", "smoke", False),
        ("dhi.contact", "contact", True),
        ("dhi.battery", "percentage", 100),
        ("dhi.battery", "voltage", 3.0),
        ("dhi.temperature", "temperature", 21),
        ("dhi.gas_leak", "concentration", 0),
        ("dhi.lock", "lock_state", "locked"),
        ("dhi.fall_detection", "state", "normal"),
        ("dhi.co2", "co2", 450),
        ("dhi.scene", "current_scene", None),
    ],
)
def test_a_quiet_healthy_home(capability: str, prop: str, expected: Any) -> None:
    definition = CATALOG[capability].property(prop)
    assert definition is not None
    assert initial_value(definition, None, capability) == expected


def test_constraints_narrow_the_typical_value() -> None:
    prop = CATALOG["dhi.thermostat"].property("heating_setpoint")
    assert prop is not None
    assert initial_value(prop, PropertyConstraint(minimum=5, maximum=18)) == 18
    assert initial_value(prop, PropertyConstraint(minimum=22.2, maximum=30, step=0.5)) == 22.2
    assert initial_value(prop, PropertyConstraint(minimum=20, maximum=30, step=0.5)) == 21


def test_the_typical_tables_have_no_dead_rows() -> None:
    names = {p.name for cap in CATALOG.values() for p in cap.properties}
    assert set(TYPICAL_BY_NAME) <= names
    for key in TYPICAL_BY_PROPERTY:
        cap_id, _, prop = key.rpartition(".")
        assert cap_id in CATALOG and CATALOG[cap_id].property(prop) is not None, key
    assert set(TYPICAL_BY_UNIT) <= set(CATALOG.units)


def test_examples_of_catalog_schemas_are_valid() -> None:
    """Every command's parameter example validates, unless its schema uses a string pattern."""
    for cap in CATALOG.values():
        for cmd in cap.commands:
            params = example_for_schema(cmd.params)
            try:
                check_params(cmd.params, params)
            except HubError:
                assert "pattern" in str(cmd.params), f"{cap.id}.{cmd.name}: {params}"
        for ev in cap.events:
            check_params(ev.payload, example_for_schema(ev.payload))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "exclusiveMinimum": 0, "maximum": 100},
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        {"type": "integer", "minimum": 5},
        {"type": "integer", "maximum": -5},
        {"type": ["null", "string"], "minLength": 2},
        {"const": 7},
        {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
        {"type": "array", "items": {"type": "number", "minimum": 1}, "minItems": 3},
    ],
)
def test_example_for_schema(schema: dict[str, Any]) -> None:
    check_params(schema, example_for_schema(schema))
