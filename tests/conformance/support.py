"""Shared helpers of the conformance tests: the example devices' claims, result lookups."""

from __future__ import annotations

from pathlib import Path

from dhi.models.conformance import Report, ResultStatus

REPO = Path(__file__).resolve().parents[2]
CLAIMS = REPO / "examples" / "vendor_device" / "claims"
SMOKE_CLAIMS = CLAIMS / "smoke-alarm.yaml"
PLUG_CLAIMS = CLAIMS / "smart-plug.yaml"


def ids_with(report: Report, status: ResultStatus) -> set[str]:
    return {r.id for r in report.results if r.status is status}


def describe(report: Report) -> str:
    """Every non-passing result, for assertion messages."""
    return "\n".join(
        f"{r.id} {r.status.value}: {r.evidence.message}"
        for r in report.results
        if r.status is not ResultStatus.PASS
    )
