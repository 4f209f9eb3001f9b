"""Loading ``spec/interface/alerts.yaml``: what each alert kind is (DHI v1 §8.4)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from dhi.models.alert import AlertKind
from dhi.models.alertkinds import AlertClass, AlertKindDef, AlertKindsFile
from dhi.specdata import spec_dir

ALERTS_FILE = "alerts.yaml"


class AlertKindsLoadError(Exception):
    pass


class AlertKinds(Mapping[str, AlertKindDef]):
    """Every alert kind by id, in the file's order, and the emergency numbers they name."""

    def __init__(self, document: AlertKindsFile) -> None:
        self.document = document
        self._by_id = {k.id: k for k in document.kinds}
        self.numbers = {n.number: n for n in document.numbers}

    @classmethod
    def load(cls, root: Path | None = None) -> AlertKinds:
        path = (root or spec_dir()) / ALERTS_FILE
        try:
            document = AlertKindsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise AlertKindsLoadError(f"{path}: {exc}") from exc
        kinds = cls(document)
        problems = kinds.problems()
        if problems:
            raise AlertKindsLoadError(f"{path}: " + "; ".join(problems))
        return kinds

    def problems(self) -> list[str]:
        """Rules the schema cannot express: ids unique, every number declared, the set of ids
        equal to the model's ``AlertKind`` (an alert names its kind by that enum)."""
        problems = []
        ids = [k.id for k in self.document.kinds]
        problems += [f"kind {i!r} is listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        for kind in self.document.kinds:
            problems += [
                f"{kind.id}.call: {n!r} is not in numbers" for n in kind.call if n not in self.numbers
            ]
        known = {k.value for k in AlertKind}
        problems += [f"kind {i!r} is not an AlertKind" for i in ids if i not in known]
        problems += [f"AlertKind {k!r} has no entry" for k in sorted(known - set(ids))]
        return problems

    def __getitem__(self, key: str) -> AlertKindDef:
        return self._by_id[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def of_class(self, cls: AlertClass) -> list[AlertKindDef]:
        return [k for k in self._by_id.values() if k.class_ is cls]


@cache
def default_alert_kinds() -> AlertKinds:
    return AlertKinds.load()
