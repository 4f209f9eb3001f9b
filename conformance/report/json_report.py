"""The JSON report: the ``Report`` model, checked against ``report.schema.json`` before it is written."""

from __future__ import annotations

import json
from typing import Any

from dhi.models.conformance import Report
from dhi.validate import validate


class ReportInvalid(Exception):
    """The suite built a report its own schema refuses (a bug in the suite)."""


def report_document(report: Report) -> dict[str, Any]:
    doc = report.to_json()
    _, problems = validate(doc, "report")
    if problems:
        raise ReportInvalid("; ".join(str(p) for p in problems))
    return doc


def report_json(report: Report) -> str:
    return json.dumps(report_document(report), indent=2, ensure_ascii=False) + "\n"
