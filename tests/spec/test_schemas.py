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

from hub.models import SCHEMA_BASE, SCHEMAS, adapter_for
from hub.models.common import SEMANTIC_RULES
from hub.models.export import render, schema_for
from hub.specdata import spec_dir

SCHEMA_DIR = spec_dir() / "schemas"
NAMES = sorted(SCHEMAS)


def test_every_model_has_a_committed_schema_and_nothing_else() -> None:
    on_disk = {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == set(SCHEMAS), "run `make schemas` after changing hub/models"


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
        max_examples=12,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(doc=from_schema(schema_for(name)))
    def check(doc: Any) -> None:
        _roundtrip(name, doc)

    check()


@given(st.data())
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_semantic_rules_are_refused_precisely(data: st.DataObject) -> None:
    """A duplicated capability in a component is schema-valid but refused with the documented rule."""
    cap = data.draw(st.sampled_from(["dhi.on_off", "dhi.level", "dhi.battery"]))
    doc = {"id": "virtual:x", "name": "x", "components": [{"id": "main", "capabilities": [{"id": cap}, {"id": cap}]}]}
    assert not list(Draft202012Validator(schema_for("device")).iter_errors(doc))
    with pytest.raises(ValidationError) as info:
        adapter_for("device").validate_python(doc)
    assert _semantic_refusal(info.value)
