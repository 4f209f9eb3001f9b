"""pytest plugin (entry point ``pytest11``): run the conformance suite inside a vendor's own tests.

::

    async def test_my_smoke_alarm_conforms(dhi_conformance, my_broker, my_device):
        report = await dhi_conformance.device(my_broker.url, "kitchen-smoke-1", "claims.yaml",
                                              client_id=my_device.client_id)
        dhi_conformance.assert_conforms(report)   # fails listing every failed id with its evidence

``dhi_conformance.adapter(...)`` and ``.hub(...)`` work the same way. With
``--dhi-report-dir DIR`` every report is also written there (JSON, JUnit XML, HTML), one
sub-directory per test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from dhi.models.conformance import Report


class ConformanceFixture:
    """What the ``dhi_conformance`` fixture gives a test."""

    def __init__(self, report_dir: Path | None) -> None:
        self.report_dir = report_dir
        self.reports: list[Report] = []

    def _keep(self, report: Report) -> Report:
        self.reports.append(report)
        if self.report_dir is not None:
            from conformance.report import write_reports

            write_reports(report, self.report_dir / str(len(self.reports)))
        return report

    async def device(self, broker_url: str, device_id: str, claims: Any, **kwargs: Any) -> Report:
        from conformance.api import run_device_target

        return self._keep(await run_device_target(broker_url, device_id, claims, **kwargs))

    async def adapter(self, adapter: Any, fixtures: Any, claims: Any, **kwargs: Any) -> Report:
        from conformance.api import run_adapter_target

        return self._keep(await run_adapter_target(adapter, fixtures, claims, **kwargs))

    async def hub(self, url: str, token: str, claims: Any, **kwargs: Any) -> Report:
        from conformance.api import run_hub_target

        return self._keep(await run_hub_target(url, token, claims, **kwargs))

    @staticmethod
    def assert_conforms(report: Report, *, allow_warnings: bool = True) -> None:
        """Fail the test with every failed (or unevaluable) id and its evidence."""
        from dhi.models.conformance import ResultStatus

        bad = {ResultStatus.FAIL, ResultStatus.ERROR} | (set() if allow_warnings else {ResultStatus.WARNING})
        lines = []
        for r in report.results:
            if r.status in bad:
                lines.append(f"{r.id} {r.status.value}: {r.title} — {r.evidence.message}")
                for key in ("sent", "expected", "got"):
                    value = getattr(r.evidence, key)
                    if value is not None:
                        lines.append(f"    {key}: {json.dumps(value, ensure_ascii=False, default=str)[:500]}")
        if lines:
            raise AssertionError(f"{report.claims.product} does not conform to DHI v1:\n" + "\n".join(lines))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dhi-conformance", "DHI v1 conformance suite")
    group.addoption(
        "--dhi-report-dir", default=None, help="write conformance reports (JSON, JUnit, HTML) here"
    )


@pytest.fixture
def dhi_conformance(request: pytest.FixtureRequest) -> ConformanceFixture:
    """Runs the DHI conformance suite against a device, an adapter plugin or a hub."""
    base = request.config.getoption("--dhi-report-dir")
    report_dir = None
    if base:
        report_dir = Path(base) / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    return ConformanceFixture(report_dir)
