"""Homie properties mapped by their declared semantics (id, name, format, settable, unit): one DHI
property per value, direction and channel kept apart, settings and ratings never measurements."""

from __future__ import annotations

import json
import logging

import pytest

from adapters.homie import HomieAdapter, HomieConfig
from adapters.homie.model import describe, parse_description
from adapters.sdk import collisions
from adapters.sdk.mqtt import MqttMessage
from tests.adapters.homie.device import description
from tests.support.recording import RecordingContext


def places(name: str) -> dict[str, tuple[str, str, str]]:
    device = describe(name, parse_description(description(name)), "homie")
    return {
        f"{pm.node}/{pm.prop}": (pm.component, pm.capability, pm.property) for pm in device.props.values()
    }


def test_energy_panel_values_never_share_a_property() -> None:
    p = places("energy-panel")
    assert len(set(p.values())) == len(p)
    [report] = HomieAdapter.map_offline(description("energy-panel"))
    assert collisions(report.mapping) == [] and report.unmapped == []
    # direction: its own property
    assert p["lugs-upstream/imported-energy"] == ("lugs_upstream", "dhi.energy", "energy")
    assert p["lugs-upstream/exported-energy"] == ("lugs_upstream", "dhi.energy", "produced_energy")
    # legs A and B: a component each
    assert p["lugs-upstream/current-a"] == ("lugs_upstream_phase_a", "dhi.current", "current")
    assert p["lugs-upstream/current-b"] == ("lugs_upstream_phase_b", "dhi.current", "current")
    assert p["lugs-upstream/voltage-b"] == ("lugs_upstream_phase_b", "dhi.voltage", "voltage")
    # four power flows of one node: one component per flow
    assert [p[f"power-flows/{f}"] for f in ("pv", "battery", "grid", "site")] == [
        (f"power_flows_{f}", "dhi.power", "power") for f in ("pv", "battery", "grid", "site")
    ]
    # a two-state enum by its declared values: a relay CLOSED/OPEN is on/off, a door a contact
    assert p["kitchen/relay"] == ("kitchen", "dhi.on_off", "on")
    assert p["core/door"] == ("core", "dhi.contact", "contact")
    # state of charge is the battery; ratings, limits, capacities and nominal values are not measurements
    assert p["bess/soc"] == ("bess", "dhi.battery", "percentage")
    for feature in ("core/breaker-rating", "bess/soe", "bess/nameplate-capacity", "bess/nominal-power",
                    "kitchen/breaker-rating", *(f"core/{k}-import-limit" for k in ("grid", "pv", "battery",
                                                                                   "generator", "ev"))):  # fmt: skip
        assert p[feature][1].startswith("x.homie."), feature


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (
            {"name": "Grid export energy", "datatype": "float", "unit": "kWh"},
            ("dhi.energy", "produced_energy"),
        ),
        ({"name": "Energy", "datatype": "float", "unit": "kWh"}, ("dhi.energy", "energy")),
        ({"name": "Power limit", "datatype": "float", "unit": "W"}, ("x.homie.n", "p1")),
        ({"datatype": "float", "unit": "W", "settable": True}, ("x.homie.n", "p1")),
        ({"name": "Charge", "datatype": "integer", "unit": "%", "format": "0:100"}, ("x.homie.n", "p1")),
    ],
)
def test_name_and_settable_decide_not_the_unit_alone(
    prop: dict[str, object], expected: tuple[str, str]
) -> None:
    doc = {"homie": "5.0", "version": 1, "nodes": {"n": {"properties": {"p1": prop}}}}
    device = describe("d", parse_description(doc), "homie")
    pm = device.props[("n", "p1")]
    assert (pm.capability, pm.property) == expected


async def test_null_version_is_read_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    doc = description("null-version")
    assert describe("g", parse_description(doc), "homie").warnings == [
        "$description version is null; read anyway"
    ]
    adapter = HomieAdapter(HomieConfig())
    ctx = RecordingContext(adapter="homie")
    adapter.bind(ctx)
    with caplog.at_level(logging.WARNING):
        adapter.handle(MqttMessage("homie/5/garage/$description", json.dumps(doc).encode(), 1, True))
        adapter.handle(MqttMessage("homie/5/garage/sensor/battery", b"64", 1, True))
    assert "homie:garage" in ctx.devices and ctx.invalid == []
    assert ctx.state_of("homie:garage", "dhi.battery", "sensor") == {"percentage": 64}
    assert "version is null" in caplog.text
