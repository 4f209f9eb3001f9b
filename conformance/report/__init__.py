"""Conformance reports: JSON (schema'd), JUnit XML and one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from conformance.report.html import render_html
from conformance.report.json_report import ReportInvalid, report_json
from conformance.report.junit import render_junit
from dhi.models.conformance import Report

JSON_NAME = "conformance-report.json"
JUNIT_NAME = "conformance-junit.xml"
HTML_NAME = "conformance-report.html"


def write_reports(report: Report, directory: Path) -> dict[str, Path]:
    """Write all three reports into ``directory`` (created); returns kind -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / JSON_NAME, "junit": directory / JUNIT_NAME, "html": directory / HTML_NAME}
    paths["json"].write_text(report_json(report), encoding="utf-8")
    paths["junit"].write_bytes(render_junit(report))
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


__all__ = ["ReportInvalid", "render_html", "render_junit", "report_json", "write_reports"]
