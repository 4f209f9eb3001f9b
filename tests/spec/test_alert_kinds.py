"""spec/interface/alerts.yaml: what each alert kind is, read by the hub, the web app and platforms."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from dhi.alertkinds import ALERTS_FILE, AlertKinds, AlertKindsLoadError, default_alert_kinds
from dhi.models import AlertClass, AlertKind
from dhi.specdata import spec_dir
from dhi.validate import validate

CLASSES = {
    AlertClass.SAFETY: {"smoke", "heat", "co", "gas_leak", "water_leak"},
    AlertClass.CARE: {"sos", "fall", "inactivity", "night_activity"},
    AlertClass.NOTICE: {"door_open", "device_offline", "low_battery", "tamper", "carbon_dioxide_high"},
}


def test_every_alert_kind_is_described_once_with_its_class() -> None:
    kinds = default_alert_kinds()
    assert set(kinds) == {k.value for k in AlertKind}
    for cls, ids in CLASSES.items():
        assert {k.id for k in kinds.of_class(cls)} == ids


def test_texts_are_bilingual_and_advice_is_short_sentences() -> None:
    for kind in default_alert_kinds().values():
        assert len(kind.advice.en) == len(kind.advice.zh_cn), kind.id
        for sentence in kind.advice.en:
            assert sentence[0].isupper() and sentence.endswith(".") and len(sentence) <= 90, sentence
        for sentence in kind.advice.zh_cn:
            assert sentence.endswith("。") and len(sentence) <= 40, sentence
        for number in kind.call:  # a number named in the advice is one the kind offers to call
            assert number in default_alert_kinds().numbers
        mentioned = {n for n in default_alert_kinds().numbers if any(n in s for s in kind.advice.en)}
        assert mentioned <= set(kind.call), kind.id


def test_the_file_is_a_valid_document() -> None:
    doc = yaml.safe_load((spec_dir() / ALERTS_FILE).read_text(encoding="utf-8"))
    name, problems = validate(doc)
    assert (name, problems) == ("alert-kinds-file", [])


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["kinds"].append(dict(d["kinds"][0])), "kind 'smoke' is listed twice"),
        (lambda d: d["kinds"][0].update(call=["999"]), "smoke.call: '999' is not in numbers"),
        (lambda d: d["kinds"].pop(1), "AlertKind 'heat' has no entry"),
        (lambda d: d["kinds"][0].update({"class": "danger"}), "kinds.0.class"),
    ],
)
def test_a_broken_file_is_refused_with_the_reason(tmp_path: Path, edit: object, problem: str) -> None:
    shutil.copytree(spec_dir(), tmp_path / "interface")
    path = tmp_path / "interface" / ALERTS_FILE
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(AlertKindsLoadError, match=problem.replace(".", r"\.").replace("(", r"\(")):
        AlertKinds.load(tmp_path / "interface")
