"""The catalog's ``mappings.matter`` and the adapter's rows state one mapping, not two.

The catalog says where a capability lives in the Matter data model (what vendors and
platforms read); the rows add what a program needs (converters, predicates, quirks). Where
both name an attribute, command or event they must name the same id, every standard row's
cluster is in the catalog, and a catalog entry the adapter does not implement is listed
here with the reason — so neither side can drift alone."""

from __future__ import annotations

from collections import defaultdict

from adapters.matter.rows import ROWS
from adapters.matter.schema import Row
from dhi.catalog import default_catalog

CATALOG = default_catalog()

#: (capability, cluster) the catalog documents and the Matter adapter does not map (yet)
NOT_IMPLEMENTED = {
    ("dhi.thermostat_schedule", 0x0201): "weekly schedules need the Schedules attribute and commands",
    ("dhi.air_conditioner", 0x0202): "the fan of a Room Air Conditioner is dhi.fan",
    ("dhi.countdown", 0x0006): "OnTime/OffWaitTime are kept as vendor properties of x.matter.on_off",
    ("dhi.power_source", 0x002F): "a mains power source is consumed; a battery is dhi.battery",
    ("dhi.connectivity", 0x0036): "diagnostics clusters are infrastructure (not features)",
    ("dhi.firmware_update", 0x002A): "OTA is the Matter server's job, not the hub's",
    ("dhi.diagnostics", 0x0033): "diagnostics clusters are infrastructure (not features)",
    ("dhi.fault", 0x0033): "diagnostics clusters are infrastructure (not features)",
    ("dhi.light_effect", 0x0003): "Identify's TriggerEffect is not mapped",
    ("dhi.electricity_meter", 0x0090): "a Matter electrical sensor is dhi.power/dhi.energy",
    ("dhi.electricity_meter", 0x0091): "a Matter electrical sensor is dhi.power/dhi.energy",
    ("dhi.presence", 0x0406): "Occupancy Sensing is dhi.occupancy whatever the sensing technology",
}
#: (capability, cluster, command) the rows send differently, and why
COMMAND_VARIANTS = {
    ("dhi.level", 0x0008, "move"): "the *WithOnOff variant (0x05), which the catalog's note allows",
    ("dhi.level", 0x0008, "step"): "the *WithOnOff variant (0x06)",
    ("dhi.level", 0x0008, "stop"): "the *WithOnOff variant (0x07)",
    ("dhi.lock", 0x0101, "set_pin_code"): "credential management is not implemented",
    ("dhi.lock", 0x0101, "clear_pin_code"): "credential management is not implemented",
}


def _rows() -> dict[tuple[str, int], list[Row]]:
    out: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in ROWS:
        if row.capability is not None and row.capability.startswith("dhi."):
            out[(row.capability, row.cluster)].append(row)
    return out


def test_every_catalog_claim_is_what_a_row_does() -> None:
    rows = _rows()
    problems = []
    for cap in CATALOG.values():
        for m in cap.mappings.matter:
            key = (cap.id, m.cluster)
            if key not in rows:
                if key not in NOT_IMPLEMENTED:
                    problems.append(f"{cap.id} on cluster 0x{m.cluster:04X}: no row")
                continue
            group = rows[key]
            for prop, attribute in m.attributes.items():
                if not any(p.name == prop and p.attribute == attribute for r in group for p in r.props):
                    problems.append(f"{cap.id}.{prop}: catalog says attribute 0x{attribute:04X}, rows differ")
            for command, command_id in m.commands.items():
                if (cap.id, m.cluster, command) in COMMAND_VARIANTS:
                    continue
                if not any(
                    c.name == command and c.command_id == command_id for r in group for c in r.commands
                ):
                    problems.append(
                        f"{cap.id}.{command}: catalog says command 0x{command_id:02X}, rows differ"
                    )
            for event, event_id in m.events.items():
                if not any(event in e.names and e.event_id == event_id for r in group for e in r.events):
                    problems.append(f"{cap.id} event {event}: catalog says 0x{event_id:02X}, rows differ")
    assert problems == []


def test_every_standard_row_is_in_the_catalog() -> None:
    """(Alternative rows for older firmware — whole-percent positions, RMS voltage — may read
    other attributes of a documented cluster; the first test pins the documented ones.)"""
    documented = {(cap.id, m.cluster) for cap in CATALOG.values() for m in cap.mappings.matter}
    missing = [
        f"{c} on cluster 0x{cluster:04X}" for (c, cluster) in _rows() if (c, cluster) not in documented
    ]
    assert missing == []


def test_exceptions_are_still_needed() -> None:
    rows = _rows()
    assert all(key not in rows for key in NOT_IMPLEMENTED)
