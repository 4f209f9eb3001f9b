"""The JSON Schemas in spec/interface/schemas are the models' schemas, and the two agree both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from dhi.models import SCHEMA_BASE, SCHEMAS, adapter_for
from dhi.models.common import SEMANTIC_RULES
from dhi.models.export import render, schema_for
from dhi.specdata import spec_dir

SCHEMA_DIR = spec_dir() / "schemas"
NAMES = sorted(SCHEMAS)


def test_every_model_has_a_committed_schema_and_nothing_else() -> None:
    on_disk = {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == set(SCHEMAS), "run `make schemas` after changing dhi/models"


@pytest.mark.parametrize("name", NAMES)
def test_committed_schema_is_generated_from_the_model(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == render(name), f"{name}.schema.json is stale: run `make schemas`"


@pytest.mark.parametrize("name", NAMES)
def test_schema_passes_the_2020_12_metaschema(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{SCHEMA_BASE}{name}.schema.json"


_SCALAR: dict[str, Any] = {"type": ["null", "boolean", "integer", "string"]}


_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "if", "then", "else", "not", "propertyNames", "contains")


def bounded(schema: Any) -> Any:
    """The schema narrowed for generation only (every document it allows, the real one allows):
    small arrays and maps, scalars where the real schema allows any JSON value. Without it,
    free-form parts (command parameter schemas, property values) make generation very slow."""
    if not isinstance(schema, dict):
        return schema
    if not set(schema) - {"title", "description", "default", "examples"}:
        return {**schema, **_SCALAR}
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: bounded(sub) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [bounded(sub) for sub in out[key]]
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = bounded(out[key])
    types = out.get("type")
    types = types if isinstance(types, list) else [types]
    if "array" in types and "maxItems" not in out:
        out["maxItems"] = 2
    if "object" in types:
        out.setdefault("maxProperties", max(len(out.get("required", [])) + 2, 3))
        if out.get("additionalProperties", True) is True:
            out["additionalProperties"] = _SCALAR
    return out


#: Vendor capability definitions are full catalog entries; generating them inside every device is
#: very slow, and their agreement is proven by the `capability` and `capability-instance` cases.
_DEFINITION_PROVEN_ELSEWHERE = {"capability", "capability-instance", "catalog-file"}


def generation_schema(name: str) -> dict[str, Any]:
    schema = bounded(schema_for(name))
    inst = schema.get("$defs", {}).get("CapabilityInstance")
    if inst is not None and name not in _DEFINITION_PROVEN_ELSEWHERE:
        inst["properties"]["definition"] = {"type": "null"}
        inst["properties"]["id"] = {**inst["properties"]["id"], "pattern": r"^dhi\.[a-z][a-z0-9_]*$"}
        for key in ("if", "then", "else"):  # decided: the else branch (no definition) holds
            inst.pop(key, None)
    return schema


def _semantic_refusal(exc: ValidationError) -> bool:
    return all(any(rule in err["msg"] for rule in SEMANTIC_RULES) for err in exc.errors())


def _roundtrip(name: str, doc: Any) -> None:
    """schema-valid → loads into the model (or breaks a documented semantic rule);
    the loaded model dumps to JSON that is schema-valid again."""
    schema = schema_for(name)
    assert not list(Draft202012Validator(schema).iter_errors(doc))
    ta = adapter_for(name)
    try:
        model = ta.validate_python(doc)
    except ValidationError as exc:
        assert _semantic_refusal(exc), f"{name}: schema-valid document refused by the model: {exc}"
        return
    for dumped in (
        ta.dump_python(model, mode="json", by_alias=True),
        ta.dump_python(model, mode="json", by_alias=True, exclude_none=True),
    ):
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(dumped)]
        assert not errors, f"{name}: model dump is not schema-valid: {errors[:3]}"


@pytest.mark.parametrize("name", NAMES)
def test_schema_and_model_agree_both_ways(name: str) -> None:
    @settings(
        max_examples=4 if name in _DEFINITION_PROVEN_ELSEWHERE else 10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(doc=from_schema(generation_schema(name)))
    def check(doc: Any) -> None:
        _roundtrip(name, doc)

    check()


@given(st.data())
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_semantic_rules_are_refused_precisely(data: st.DataObject) -> None:
    """A duplicated capability in a component is schema-valid but refused with the documented rule."""
    cap = data.draw(st.sampled_from(["dhi.on_off", "dhi.level", "dhi.battery"]))
    doc = {
        "id": "virtual:x",
        "name": "x",
        "components": [{"id": "main", "capabilities": [{"id": cap}, {"id": cap}]}],
    }
    assert not list(Draft202012Validator(schema_for("device")).iter_errors(doc))
    with pytest.raises(ValidationError) as info:
        adapter_for("device").validate_python(doc)
    assert _semantic_refusal(info.value)
