"""The device target against a real Mosquitto: the example vendor devices pass; broken
devices fail on the right ids (one per binding rule: test_mutation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import run_device_target
from dhi.models.conformance import Report, ResultStatus
from examples.vendor_device import SmartPlug, SmokeAlarm, VendorDevice
from tests.conformance.mutants import IgnoresTimeout
from tests.conformance.support import PLUG_CLAIMS, SMOKE_CLAIMS, describe, ids_with
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow


async def run(
    broker: Mosquitto, device: VendorDevice, claims: Path, *, fuzz_examples: int = 15, timeout: float = 1.5
) -> Report:
    with device:
        return await run_device_target(
            broker.url,
            device.device,
            claims,
            fuzz_examples,
            client_id=device.client_id,
            answer_timeout=timeout,
        )


@pytest.mark.parametrize(("kind", "claims"), [(SmokeAlarm, SMOKE_CLAIMS), (SmartPlug, PLUG_CLAIMS)])
async def test_the_example_devices_pass_with_the_default_fuzz_tier(
    mosquitto: Mosquitto, kind: type[VendorDevice], claims: Path
) -> None:
    device = kind(mosquitto.url, "example-1")
    with device:
        report = await run_device_target(mosquitto.url, "example-1", claims, client_id=device.client_id)
    assert report.summary.fail == 0 and report.summary.error == 0 and report.summary.warning == 0, describe(
        report
    )
    assert {"DHI-FUZZ-1.1", "DHI-FUZZ-1.2", "DHI-AVAIL-1.2", "DHI-AVAIL-1.3"} <= ids_with(
        report, ResultStatus.PASS
    )
    if kind is SmokeAlarm:  # core and safety both ran, nothing left out
        assert report.summary.not_applicable == 0, describe(report)
        assert {"DHI-SAFE-1.1", "DHI-SAFE-1.2"} <= ids_with(report, ResultStatus.PASS)


# ---------------------------------------------------------------- broken devices
# One mutant per MUST rule of the binding lives in mutants.py (test_mutation.py); here only
# what is not a binding rule: claims, and what a fuzz failure reports.


def request_problem_free(request: dict[str, Any]) -> bool:
    """True when the request is valid for the smoke alarm apart from what the test replaced."""
    from conformance.schemas import schema_problems

    return not schema_problems(request, "command")


def lying_claims(tmp: Path) -> Path:
    doc = yaml.safe_load(SMOKE_CLAIMS.read_text(encoding="utf-8"))
    doc["capabilities"].append("dhi.tamper")
    path = tmp / "lying.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


async def test_claiming_a_capability_the_device_lacks_fails_claim_1_1_only(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    report = await run(
        mosquitto, SmokeAlarm(mosquitto.url, "liar-1"), lying_claims(tmp_path), fuzz_examples=5
    )
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-CLAIM-1.1"}, describe(report)
    assert report.summary.error == 0, describe(report)


async def test_the_fuzz_failure_names_the_minimal_failing_request(mosquitto: Mosquitto) -> None:
    report = await run(
        mosquitto,
        IgnoresTimeout(mosquitto.url, "fuzzed-1"),
        SMOKE_CLAIMS,
        fuzz_examples=60,
    )
    fuzz = next(r for r in report.results if r.id == "DHI-FUZZ-1.1")
    assert fuzz.status is ResultStatus.FAIL
    sent = fuzz.evidence.sent
    timeout = sent["timeout"]  # the one thing wrong with the request
    assert isinstance(timeout, str | bool) or not 0 < timeout <= 300
    assert request_problem_free(sent | {"timeout": 1.0}), sent
    assert fuzz.evidence.got["status"] == "ok" and fuzz.evidence.got["id"] == sent["id"]
    assert "silent acceptance" in (fuzz.evidence.message or "")


async def test_without_the_client_id_the_last_will_is_a_warning_not_a_pass(mosquitto: Mosquitto) -> None:
    with SmokeAlarm(mosquitto.url, "no-id-1") as device:
        report = await run_device_target(
            mosquitto.url, device.device, SMOKE_CLAIMS, fuzz=False,
            only={"DHI-AVAIL-1.1", "DHI-AVAIL-1.2", "DHI-AVAIL-1.3"},
        )  # fmt: skip
    assert ids_with(report, ResultStatus.WARNING) == {"DHI-AVAIL-1.2", "DHI-AVAIL-1.3"}
    assert ids_with(report, ResultStatus.PASS) == {"DHI-AVAIL-1.1"}


async def test_a_device_that_is_not_there_fails_its_description_and_errors_the_rest(
    mosquitto: Mosquitto,
) -> None:
    report = await run_device_target(mosquitto.url, "ghost", SMOKE_CLAIMS, fuzz=False, answer_timeout=0.5)
    assert "DHI-DESC-1.1" in ids_with(report, ResultStatus.FAIL)
    assert "DHI-CMD-1.1" in ids_with(report, ResultStatus.ERROR)
    assert all(
        "DHI-DESC-1.1" in (r.evidence.message or "") for r in report.results if r.status is ResultStatus.ERROR
    )


class InvalidDescription(SmokeAlarm):
    def description(self) -> dict[str, Any]:
        return {**super().description(), "colour": "red"}  # an unknown field: not a DHI device


async def test_an_invalid_description_is_blamed_on_msg_1_2_not_on_desc_1_1(mosquitto: Mosquitto) -> None:
    report = await run(mosquitto, InvalidDescription(mosquitto.url, "odd-1"), SMOKE_CLAIMS, fuzz_examples=5)
    assert "DHI-DESC-1.1" in ids_with(report, ResultStatus.PASS)
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-MSG-1.2"}, describe(report)
    errors = [r for r in report.results if r.status is ResultStatus.ERROR]
    assert errors, describe(report)
    for r in errors:
        assert "see DHI-MSG-1.2" in (r.evidence.message or "") and "colour" in (r.evidence.message or ""), r


async def test_unreadable_state_reports_are_an_error_not_not_applicable(mosquitto: Mosquitto) -> None:
    from tests.conformance.mutants import EpochTime

    with EpochTime(mosquitto.url, "epoch-1") as device:
        report = await run_device_target(
            mosquitto.url, device.device, SMOKE_CLAIMS, fuzz=False, answer_timeout=1.5,
            only={"DHI-STATE-1.2", "DHI-STATE-1.3", "DHI-UNIT-1.2"},
        )  # fmt: skip
    assert ids_with(report, ResultStatus.ERROR) == {"DHI-STATE-1.2", "DHI-STATE-1.3", "DHI-UNIT-1.2"}
    assert all(
        "time" in (r.evidence.message or "") and "see DHI-MSG-1.2" in (r.evidence.message or "")
        for r in report.results
    )
    from conformance.runner import exit_code

    assert exit_code(report) == 1
