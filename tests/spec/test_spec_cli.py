"""`dhome spec`: examples validate, invalid examples fail with their documented error, TDs are valid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from dhi.catalog import default_catalog
from dhi.errors import ERRORS
from dhi.models import DeviceDescription
from dhi.specdata import spec_dir
from dhi.validate import validate
from hub.td import thing_description

EXAMPLES = spec_dir() / "examples"
INVALID = EXAMPLES / "invalid"
EXPECTED: dict[str, dict[str, str]] = yaml.safe_load((INVALID / "expected.yaml").read_text(encoding="utf-8"))
VALID_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml"))
DEVICE_FILES = [p for p in VALID_FILES if p.name.startswith("device-")]


def dhome(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def td_validator(shared_fixtures: Path) -> Draft7Validator:
    schema = json.loads(
        (shared_fixtures / "wot" / "td-json-schema-validation.json").read_text(encoding="utf-8")
    )
    return Draft7Validator(schema)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_valid_examples_validate(path: Path) -> None:
    out = dhome("spec", "validate", str(path))
    assert out.returncode == 0, out.stderr
    assert "valid DHI v1" in out.stdout


def test_long_paths_are_never_wrapped(tmp_path: Path) -> None:
    """CI checks out under deep paths; a result line must stay one line at any width."""
    deep = tmp_path.joinpath(*(["a-rather-long-directory-name"] * 4))
    deep.mkdir(parents=True)
    target = deep / "message-state-changed.json"
    target.write_bytes((EXAMPLES / "message-state-changed.json").read_bytes())
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "spec", "validate", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{target}: valid DHI v1 message"]


def test_every_invalid_example_has_a_documented_error() -> None:
    files = {p.name for p in INVALID.iterdir() if p.name != "expected.yaml"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_examples_fail_with_their_documented_error(name: str) -> None:
    out = dhome("spec", "validate", str(INVALID / name))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    exp = EXPECTED[name]
    lines = out.stderr.splitlines()
    assert any(f": {exp['path']}: " in line and exp["contains"] in line for line in lines), lines


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["spec", "validate", "/no/such/file.json"], "no such file"),
        (["spec", "validate", "{bad}"], "no such file"),
        (["spec", "td", "/no/such/device.json"], "no such file"),
    ],
)
def test_missing_files_are_one_line_errors(args: list[str], expected: str) -> None:
    out = dhome(*args)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and expected in out.stderr


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x:1",\n "name": }', encoding="utf-8")
    out = dhome("spec", "validate", str(bad))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"{bad}:2:" in out.stderr and "malformed JSON" in out.stderr


def test_wrong_types_list_every_error_with_its_path(tmp_path: Path) -> None:
    doc = tmp_path / "dev.json"
    doc.write_text(json.dumps({"id": 5, "name": ["x"], "components": "main"}), encoding="utf-8")
    out = dhome("spec", "validate", str(doc), "--type", "device")
    assert out.returncode == 1
    for path in ("$.id", "$.name", "$.components"):
        assert f": {path}: " in out.stderr


def test_unknown_type_option_is_refused(tmp_path: Path) -> None:
    out = dhome("spec", "validate", str(EXAMPLES / "alert-smoke.json"), "--type", "pizza")
    assert out.returncode == 1 and "unknown type 'pizza'" in out.stderr


def test_catalog_json_has_enough_bilingual_capabilities_with_allowed_units() -> None:
    out = dhome("spec", "catalog", "--json")
    assert out.returncode == 0
    data = json.loads(out.stdout)
    units = {u["symbol"] for u in data["units"]}
    caps = data["capabilities"]
    assert len(caps) >= 45
    for cap in caps:
        assert cap["label"]["en"].strip() and cap["label"]["zh-CN"].strip(), cap["id"]
        for prop in cap.get("properties", []):
            assert prop.get("unit") is None or prop["unit"] in units, (cap["id"], prop)


def test_catalog_table_prints_chinese_labels() -> None:
    out = dhome("spec", "catalog")
    assert out.returncode == 0 and "烟雾" in out.stdout


@pytest.mark.parametrize("path", DEVICE_FILES, ids=lambda p: p.name)
def test_td_of_every_example_device_is_valid_wot_td_1_1(path: Path, td_validator: Draft7Validator) -> None:
    out = dhome("spec", "td", str(path))
    assert out.returncode == 0, out.stderr
    td = json.loads(out.stdout)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in td_validator.iter_errors(td)]
    assert not errors, errors[:5]
    desc = DeviceDescription.model_validate_json(path.read_text(encoding="utf-8"))
    # every supported property of every capability is an affordance with a form
    for comp in desc.components:
        for inst in comp.capabilities:
            definition = inst.definition or default_catalog()[inst.id]
            for prop in definition.properties:
                if inst.properties is None or prop.name in inst.properties:
                    name = f"{comp.id}/{inst.id.removeprefix('dhi.')}/{prop.name}"
                    assert td["properties"][name]["forms"], name


@pytest.mark.parametrize("cap_id", sorted(default_catalog()))
def test_td_for_every_catalog_capability_is_valid(cap_id: str, td_validator: Draft7Validator) -> None:
    desc = DeviceDescription.model_validate(
        {"id": "virtual:x", "name": "x", "components": [{"id": "main", "capabilities": [{"id": cap_id}]}]}
    )
    td = thing_description(desc, default_catalog(), "http://127.0.0.1:8470/api/v1/")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in td_validator.iter_errors(td)]
    assert not errors, errors[:5]
    assert td["properties"] or td["actions"] or td["events"]


def test_td_refuses_an_invalid_device_description() -> None:
    out = dhome("spec", "td", str(INVALID / "device-unknown-capability.json"))
    assert out.returncode == 1 and "not a valid device description" in out.stderr


def test_spec_readme_lists_every_error_code() -> None:
    text = (spec_dir() / "README.md").read_text(encoding="utf-8")
    for code in ERRORS:
        assert f"`{code}`" in text, code


def test_validation_detects_types_from_shape() -> None:
    for path in VALID_FILES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        kind, problems = validate(doc)
        assert kind != "unknown" and not problems, (path.name, problems)
