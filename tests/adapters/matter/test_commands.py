"""Every command and attribute write the mapping can produce is one the server accepts.

The server parses ``device_command`` payloads and ``write_attribute`` values with the CHIP
cluster objects (``dataclass_from_dict`` / ``parse_value``); the same functions, from the
python-matter-server client package, check what the mapping builds from any valid DHI
parameters (generated from the catalog's JSON Schemas)."""

from __future__ import annotations

from typing import Any

import pytest
from chip.clusters import ClusterObjects, Objects  # noqa: F401 - importing Objects fills the registries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from matter_server.common.helpers.util import dataclass_from_dict, parse_value

from adapters.matter.rows import ROWS
from adapters.matter.schema import Cmd, Prop, Row, Write
from adapters.sdk.convert import ConversionError
from dhi.catalog import default_catalog

CATALOG = default_catalog()


def _commands() -> list[tuple[Row, Cmd]]:
    return [(row, cmd) for row in ROWS if row.capability for cmd in row.commands]


def _writes() -> list[tuple[Row, Prop]]:
    return [(row, p) for row in ROWS if row.capability for p in row.props if isinstance(p.set, Write)]


def _definition(row: Row) -> Any:
    assert row.capability is not None
    return row.definition or CATALOG[row.capability]


@pytest.mark.parametrize(
    ("row", "cmd"), _commands(), ids=lambda x: getattr(x, "matter", getattr(x, "capability", ""))
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_command_payloads_parse_as_the_server_does(row: Row, cmd: Cmd, data: st.DataObject) -> None:
    command_def = _definition(row).command(cmd.name)
    assert command_def is not None, f"{row.capability} has no command {cmd.name}"
    params = data.draw(from_schema(command_def.params))
    if cmd.when is not None and not cmd.when(params):
        return
    cluster = ClusterObjects.ALL_CLUSTERS[row.cluster]
    command_cls = getattr(cluster.Commands, cmd.matter)
    assert command_cls.command_id == cmd.command_id
    assert bool(getattr(command_cls, "must_use_timed_invoke", False)) == (cmd.timed_ms is not None)
    try:
        payload = cmd.payload(params)
    except ConversionError:
        return  # e.g. a catalog range wider than the Matter field: refused with a precise error
    dataclass_from_dict(command_cls, payload, allow_sdk_types=True)


@pytest.mark.parametrize(
    ("row", "prop"), _writes(), ids=lambda x: getattr(x, "name", getattr(x, "capability", ""))
)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_attribute_writes_parse_as_the_server_does(row: Row, prop: Prop, data: st.DataObject) -> None:
    pdef = _definition(row).property(prop.name)
    assert pdef is not None and pdef.writable
    schema: dict[str, Any] = {
        "type": {"enum": "string", "number": "number"}.get(pdef.type.value, pdef.type.value)
    }
    for key in ("enum", "minimum", "maximum"):
        if getattr(pdef, key) is not None:
            schema[key] = getattr(pdef, key)
    value = data.draw(from_schema(schema))
    try:
        encoded = prop.convert.back(value)
    except ConversionError:
        return
    attribute = ClusterObjects.ALL_ATTRIBUTES[row.cluster][prop.attribute]
    if encoded is None:
        return  # the server refuses null writes (allow_none=False): the adapter then says so
    parse_value(
        name=f"{row.cluster}/{prop.attribute}",
        value=encoded,
        value_type=attribute.attribute_type.Type,
        allow_none=False,
        allow_sdk_types=True,
    )


def test_rows_agree_with_the_catalog() -> None:
    for row in ROWS:
        if row.capability is None:
            continue
        definition = _definition(row)
        for prop in row.props:
            pdef = definition.property(prop.name)
            assert pdef is not None, f"{row.capability}.{prop.name}"
            if prop.set is not None:
                assert pdef.writable, f"{row.capability}.{prop.name} is set but read-only in the catalog"
        for cmd in row.commands:
            command_def = definition.command(cmd.name)
            assert command_def is not None, f"{row.capability}.{cmd.name}"
            known = set(command_def.params.get("properties", {}))
            used = {a.param for a in cmd.args if a.param}
            assert used <= known, f"{row.capability}.{cmd.name}: {used - known}"
            assert set(command_def.params.get("required", [])) <= used
        for evt in row.events:
            for name in evt.names:
                assert definition.event(name) is not None, f"{row.capability} event {name}"
        for mapping in definition.mappings.matter:
            if mapping.cluster != row.cluster:
                continue
            for name, attribute in mapping.attributes.items():
                mine = {p.attribute for p in row.props if p.name == name}
                # fallback rows (RMS voltage, whole-percent lift …) may read another attribute
                assert not mine or attribute in mine or row.note or _is_fallback(row), (row.capability, name)


def _is_fallback(row: Row) -> bool:
    same = [r for r in ROWS if r.capability == row.capability and r.cluster == row.cluster]
    return same.index(row) > 0
