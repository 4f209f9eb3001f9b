"""``value_check``: the quick acceptance test ingestion runs per value agrees with
``check_value`` on every catalog property — never accepts what it would refuse, and
accepts what it would accept (null and JSON-Schema values are left to ``check_value``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhi.catalog import _undecided, check_value, default_catalog, value_check
from dhi.errors import HubError
from dhi.models.catalog import PropertyDef
from dhi.models.device import PropertyConstraint

ALL_PROPS = [p for cap in default_catalog().values() for p in cap.properties]
#: one property per distinct shape (type, members, range, length, schema, nullability)
PROPS = list(
    {
        (p.type, tuple(p.enum or ()), p.minimum, p.maximum, p.max_length, repr(p.schema_), p.nullable): p
        for p in ALL_PROPS
    }.values()
)

values = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=300) | st.sampled_from(
    sorted({e for p in PROPS for e in (p.enum or [])})
) | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)  # fmt: skip


def accepted(prop: PropertyDef, value: object, constraint: PropertyConstraint | None) -> bool:
    try:
        check_value(prop, value, "v", constraint)
    except HubError:
        return False
    return True


@pytest.mark.parametrize("prop", PROPS, ids=lambda p: p.name)
@given(value=values, lo=st.none() | st.integers(-50, 50), width=st.integers(0, 100))
def test_agrees_with_check_value(prop: PropertyDef, value: object, lo: int | None, width: int) -> None:
    constraint = None
    if lo is not None and prop.type.value in ("integer", "number"):
        constraint = PropertyConstraint(minimum=lo, maximum=lo + width)
    elif lo is not None and prop.enum:
        constraint = PropertyConstraint(enum=prop.enum[: 1 + width % len(prop.enum)])
    quick = value_check(prop, constraint)
    verdict = accepted(prop, value, constraint)
    if quick(value):
        assert verdict, f"value_check accepted {value!r} that check_value refuses"
    elif value is not None and quick is not _undecided:
        assert not verdict, f"value_check left {value!r} to check_value, which accepts it"


def test_covers_most_of_the_catalog() -> None:
    """The quick test decides for nearly every property (else ingestion gains nothing)."""
    undecided = [p.name for p in ALL_PROPS if value_check(p) is _undecided]
    assert len(undecided) < len(ALL_PROPS) / 10, undecided
