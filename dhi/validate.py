"""Validate any DHI document against its JSON Schema, its model rules and the catalog.

Used by ``dhome spec validate``, the DHI-MQTT adapter and the conformance suite: each
problem comes back with the JSON path of the offending field and the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as ValidationError_
from pydantic import ValidationError
from referencing import Registry, Resource

from dhi.catalog import Catalog, check_params, check_value, default_catalog
from dhi.checks import check_description
from dhi.errors import HubError
from dhi.models import SCHEMA_BASE, SCHEMAS, adapter_for
from dhi.models.common import is_rfc3339
from dhi.specdata import spec_dir


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DocumentError(Exception):
    """The input cannot be read at all (missing file, not JSON/YAML)."""


def json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def format_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a readable path: ``devices[0].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted((spec_dir() / "schemas").glob("*.schema.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


#: the ``format`` keywords the schemas use, enforced (JSON Schema 2020-12 only annotates them
#: by default; spec §2.4 makes them rules). One checker per format, nothing else is asserted.
FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(is_rfc3339)


@cache
def validator(name: str) -> Draft202012Validator:
    if name not in SCHEMAS:
        raise KeyError(name)
    schema = _registry().contents(f"{SCHEMA_BASE}{name}.schema.json")
    return Draft202012Validator(schema, registry=_registry(), format_checker=FORMATS)


def _reason(err: ValidationError_) -> str:
    """The error's own message, or — for an ``anyOf``/``oneOf`` where every branch but one
    fails only on the value's type (a nullable field) — that one branch's reason: "'1700000000'
    is not a 'date-time'" rather than "is not valid under any of the given schemas"."""
    branches: dict[Any, list[ValidationError_]] = {}
    for c in err.context or ():
        branches.setdefault(c.relative_schema_path[0], []).append(c)
    near = [errs for errs in branches.values() if any(c.validator != "type" for c in errs)]
    return near[0][0].message if len(near) == 1 else err.message


def schema_problems(doc: Any, name: str) -> list[Problem]:
    """Every JSON Schema problem of ``doc`` as schema ``name`` (formats enforced), in path order."""
    errors = sorted(
        validator(name).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [Problem(json_path(e.absolute_path), _reason(e)) for e in errors]


# Shape-based detection: first rule whose keys are all present wins.
_DETECT: list[tuple[str, tuple[str, ...]]] = [
    ("message", ("specversion",)),
    ("report", ("results", "summary")),
    ("claims", ("profiles", "target")),
    ("catalog-file", ("capabilities",)),
    ("alert-kinds-file", ("kinds", "numbers")),
    ("device", ("components",)),
    ("command-result", ("status",)),
    ("command", ("command", "capability")),
    ("event", ("event", "capability")),
    ("state", ("properties", "capability")),
    ("subscription-request", ("receiver", "transport")),
    ("alert", ("kind", "severity")),
]


def detect_type(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for name, keys in _DETECT:
        if all(k in doc for k in keys):
            return name
    return None


def load_document(path: Path) -> Any:
    if not path.exists():
        raise DocumentError(f"{path}: no such file")
    if path.is_dir():
        raise DocumentError(f"{path}: is a directory")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(f"{path}: not UTF-8 text") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"{path}: malformed YAML: {exc}") from None


def validate(doc: Any, type_: str | None = None, catalog: Catalog | None = None) -> tuple[str, list[Problem]]:
    """Return (type, problems); an empty list means valid."""
    name = type_ or detect_type(doc)
    if name is None:
        return "unknown", [
            Problem(
                "$",
                "cannot tell the document type from its keys; pass --type (one of: "
                + ", ".join(SCHEMAS)
                + ")",
            )
        ]
    if name not in SCHEMAS:
        return name, [Problem("$", f"unknown type {name!r}; expected one of: {', '.join(SCHEMAS)}")]
    problems = schema_problems(doc, name)
    if problems:
        return name, problems
    try:
        model = adapter_for(name).validate_python(doc)
    except ValidationError as exc:
        return name, [Problem(json_path(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)]
    return name, _semantic(name, model, catalog or default_catalog())


def _semantic(name: str, model: Any, catalog: Catalog) -> list[Problem]:
    """Catalog rules no schema can express: capabilities exist, values fit their property."""
    try:
        if name == "device":
            check_description(model, catalog)
        elif name == "state":
            cap = catalog.require(model.capability)
            for prop_name, value in model.properties.items():
                prop = cap.property(prop_name)
                if prop is None:
                    return [
                        Problem(
                            f"$.properties.{prop_name}", f"{model.capability} has no property {prop_name!r}"
                        )
                    ]
                check_value(prop, value, f"$.properties.{prop_name}")
        elif name == "event":
            cap = catalog.require(model.capability)
            ev = cap.event(model.event)
            if ev is None:
                return [Problem("$.event", f"{model.capability} has no event {model.event!r}")]
            check_params(ev.payload, model.payload, "$.payload")
        elif name == "command":
            cap = catalog.require(model.capability)
            cmd = cap.command(model.command)
            if cmd is not None:
                check_params(cmd.params, model.params, "$.params")
            elif model.command == "set":
                for prop_name, value in model.params.items():
                    prop = cap.property(prop_name)
                    if prop is None:
                        return [
                            Problem(
                                f"$.params.{prop_name}", f"{model.capability} has no property {prop_name!r}"
                            )
                        ]
                    check_value(prop, value, f"$.params.{prop_name}")
            else:
                return [Problem("$.command", f"{model.capability} has no command {model.command!r}")]
    except HubError as exc:
        path = exc.field or "$"
        path = path if path.startswith("$") else "$." + path
        return [Problem(path, exc.message)]
    return []
