"""Schema validity of one DHI document: the JSON Schema, then the model rules the schema cannot
express — but not the catalog (ranges and members are separate cases, so one defect fails
one id)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dhi.models import adapter_for
from dhi.validate import json_path, validator


def schema_problems(doc: Any, name: str) -> list[str]:
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        return [f"{json_path(e.absolute_path)}: {e.message}" for e in errors[:5]]
    try:
        adapter_for(name).validate_python(doc)
    except ValidationError as exc:
        return [f"{json_path(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)[:5]]
    return []
