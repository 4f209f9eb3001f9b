"""The Sharing page's enrolment form as the hub reads it (spec §9.4): each mistake names its field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhi.errors import InvalidParams
from hub.api.subscriptions import parse_enrolment

GOOD: dict[str, Any] = {
    "platform": "http://127.0.0.1:8480",
    "code": "ABCD-EFGH-JKLM",
    "household": {"name": "陈阿姨", "address": "3号楼 501", "contacts": [{"name": "陈明", "phone": "138"}]},
    "alert_kinds": ["smoke", "sos"],
}


def test_a_good_form_is_read_whole() -> None:
    got = parse_enrolment(GOOD)
    assert (got.platform, got.code, got.alert_kinds, got.fields) == (
        GOOD["platform"],
        GOOD["code"],
        ["smoke", "sos"],
        None,
    )
    assert got.household["contacts"] == [{"name": "陈明", "phone": "138", "relation": ""}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform": "ftp://x"}, "platform"),
        ({"code": "AB"}, "code"),
        ({"household": {"name": " "}}, "household.name"),
        ({"household": {"name": "x", "address": "y" * 501}}, "household.address"),
        ({"household": {"name": "x", "contacts": [{}] * 6}}, "household.contacts"),
        ({"alert_kinds": "smoke"}, "alert_kinds"),
        ({"fields": [1]}, "fields"),
    ],
)
def test_each_mistake_names_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        parse_enrolment({**GOOD, **change})
    assert err.value.field == field


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12))  # fmt: skip
def test_any_json_is_read_or_refused_clearly(body: object) -> None:
    try:
        parse_enrolment(body)
    except InvalidParams as exc:
        assert exc.field
