"""Schema validity of one DHI document: the JSON Schema, then the model rules the schema cannot
express — but not the catalog (ranges and members are separate cases, so one defect fails
one id)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dhi.models import adapter_for
from dhi.validate import json_path
from dhi.validate import schema_problems as json_schema_problems


def schema_problems(doc: Any, name: str) -> list[str]:
    problems = json_schema_problems(doc, name)
    if problems:
        return [str(p) for p in problems[:5]]
    try:
        adapter_for(name).validate_python(doc)
    except ValidationError as exc:
        return [f"{json_path(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)[:5]]
    return []
