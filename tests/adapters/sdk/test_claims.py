"""The no-collision rule of the SDK's mapping step and the per-feature report."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.sdk import DeviceMapping, FeatureFate, PropertyClaims, Unmapped, build_report, collisions
from dhi.models.common import COMPONENT_ID


def test_second_feature_gets_its_own_component_with_the_reason() -> None:
    claims = PropertyClaims()
    assert claims.bind("ENERGY.Total", "energy", "dhi.energy", "energy") == "energy"
    moved = claims.bind("ENERGY.ImportActive", "energy", "dhi.energy", "energy")
    assert moved == "energy_importactive"
    assert claims.fates[1].reason == (
        "energy/dhi.energy.energy already holds ENERGY.Total; kept apart in component energy_importactive"
    )
    # the same feature binding again keeps its place
    assert claims.bind("ENERGY.Total", "energy", "dhi.energy", "energy") == "energy"
    assert collisions(claims.fates) == []


def test_collisions_are_found() -> None:
    fates = [
        FeatureFate(feature="a", component="main", capability="dhi.power", property="power"),
        FeatureFate(feature="b", component="main", capability="dhi.power", property="power"),
    ]
    assert collisions(fates) == ["main/dhi.power.power: a and b"]


def test_bind_all_moves_every_property_together() -> None:
    claims = PropertyClaims()
    claims.bind("Sat", "light", "dhi.color", "saturation")
    comp = claims.bind_all("HSBColor", "light", "dhi.color", ["hue", "saturation"])
    assert comp != "light" and {f.component for f in claims.fates[1:]} == {comp}


@given(features=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12))
def test_any_features_on_one_property_never_share_it(features: list[str]) -> None:
    claims = PropertyClaims()
    for f in features:
        comp = claims.bind(f, "main", "dhi.power", "power")
        assert re.match(COMPONENT_ID, comp) and len(comp) <= 64
    assert collisions(claims.fates) == []
    assert len({f.component for f in claims.fates}) == len(set(features))


def test_report_lists_every_feature_with_its_fate() -> None:
    m = DeviceMapping(
        id="x:1",
        name="one",
        features=2,
        standard=1,
        vendor=0,
        unmapped=[Unmapped(feature="ANALOG.A0", reason="no mapping")],
        mapping=[
            FeatureFate(feature="ENERGY.Power", component="energy", capability="dhi.power", property="power")
        ],
    )
    device = build_report("tasmota", [m]).model_dump()["devices"][0]
    assert device["mapping"] == [
        {
            "feature": "ENERGY.Power",
            "component": "energy",
            "capability": "dhi.power",
            "property": "power",
            "reason": None,
        },
        {
            "feature": "ANALOG.A0",
            "component": None,
            "capability": None,
            "property": None,
            "reason": "no mapping",
        },
    ]
