"""The pytest plugin, used as a vendor would: a separate pytest run with ``-p conformance.plugin``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.support import REPO, SMOKE_CLAIMS
from tests.support.mosquitto import Mosquitto

VENDOR_TESTS = f"""
import os
from examples.vendor_device import SmokeAlarm

BROKER = os.environ["DHI_TEST_BROKER"]
CLAIMS = {str(SMOKE_CLAIMS)!r}


class NoWill(SmokeAlarm):
    use_will = False


async def test_our_alarm_conforms(dhi_conformance):
    with SmokeAlarm(BROKER, "vendor-ok") as device:
        report = await dhi_conformance.device(BROKER, "vendor-ok", CLAIMS, client_id=device.client_id,
                                              fuzz_examples=10, answer_timeout=2)
    dhi_conformance.assert_conforms(report)


async def test_our_alarm_without_a_will(dhi_conformance):
    with NoWill(BROKER, "vendor-bad") as device:
        report = await dhi_conformance.device(BROKER, "vendor-bad", CLAIMS, client_id=device.client_id,
                                              fuzz=False, answer_timeout=2)
    dhi_conformance.assert_conforms(report)
"""


@pytest.mark.slow
def test_a_vendor_runs_the_cases_in_their_own_pytest_suite(mosquitto: Mosquitto, tmp_path: Path) -> None:
    (tmp_path / "test_vendor.py").write_text(VENDOR_TESTS, encoding="utf-8")
    reports = tmp_path / "reports"
    # only the plugins named here: the same whether or not the pytest11 entry point is installed
    env = {
        **os.environ,
        "DHI_TEST_BROKER": mosquitto.url,
        "PYTHONPATH": str(REPO),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conformance.plugin", "-p", "pytest_asyncio.plugin", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "--dhi-report-dir", str(reports), "test_vendor.py"],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "1 failed, 1 passed" in output, output
    assert "DHI-AVAIL-1.2 fail" in output and "DHI-AVAIL-1.1" not in output.split("does not conform")[1], (
        output
    )
    written = sorted(reports.rglob("conformance-report.json"))
    assert len(written) == 2
    verdicts = {json.loads(p.read_text(encoding="utf-8"))["claims"]["product"]: p for p in written}
    assert verdicts  # both runs left a full report behind, the failing one included
