"""The device target against a real Mosquitto: the example vendor devices pass, and each
deliberately broken variant (built here) fails exactly the ids that cover its defect."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import run_device_target
from dhi.models.conformance import Report, ResultStatus
from examples.vendor_device import SmartPlug, SmokeAlarm, VendorDevice
from examples.vendor_device.device import FIELD_TYPES, Capability
from examples.vendor_device.model import SMART_PLUG, SMOKE_ALARM, Product, siren_definition
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


# ---------------------------------------------------------------- broken variants, one defect each


class WrongDescId(SmokeAlarm):
    def description(self) -> dict[str, Any]:
        return {**super().description(), "id": "dhi:hall-lamp"}


class StateNotRetained(SmartPlug):
    retain_state = False


def _with_siren_unit(unit: str) -> Product:
    caps = tuple(
        Capability(c.id, c.props, c.commands, c.events, siren_definition(unit))
        if c.id == "x.acme.siren"
        else c
        for c in SMOKE_ALARM.capabilities
    )
    return Product(
        SMOKE_ALARM.manufacturer, SMOKE_ALARM.model, SMOKE_ALARM.firmware, caps, SMOKE_ALARM.initial
    )


class NonUcumUnit(SmokeAlarm):
    product = _with_siren_unit("dB")  # the catalog's unit is dB[SPL]


class BatteryPerMille(SmokeAlarm):
    product = Product(
        SMOKE_ALARM.manufacturer, SMOKE_ALARM.model, SMOKE_ALARM.firmware, SMOKE_ALARM.capabilities,
        {**SMOKE_ALARM.initial, "dhi.battery": {"percentage": 870, "low": False}},
    )  # fmt: skip


class BadEventPayload(SmokeAlarm):
    def self_test_result(self) -> dict[str, Any]:
        return {"result": "ok"}  # the catalog's payload is {"passed": bool}


class NoCommandResult(SmokeAlarm):
    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        if error:  # only failures are reported; successes are silently swallowed
            super().answer(request_id, error, result)


class WrongErrorCode(SmokeAlarm):
    range_error_code = "invalid_params"


class NanJson(SmartPlug):
    allow_nan = True
    product = Product(
        SMART_PLUG.manufacturer, SMART_PLUG.model, SMART_PLUG.firmware, SMART_PLUG.capabilities,
        {**SMART_PLUG.initial, "dhi.power": {"power": math.nan}},  # no reading yet: NaN on the wire
    )  # fmt: skip


class NoLastWill(SmokeAlarm):
    use_will = False


class SelfTestDoesNothing(SmokeAlarm):
    def do_self_test(self, cap: Capability) -> None:
        return None


class IgnoresTimeout(SmokeAlarm):
    # the firmware never looks at the request's timeout, so it never checks it either
    field_types = {k: v for k, v in FIELD_TYPES.items() if k != "timeout"}


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


@dataclass(frozen=True)
class Variant:
    name: str
    device: type[VendorDevice]
    fails: frozenset[str]
    claims: Callable[[Path], Path] = lambda tmp: SMOKE_CLAIMS
    fuzz_examples: int = 15


VARIANTS = [
    Variant("desc id names another device", WrongDescId, frozenset({"DHI-DESC-1.2"})),
    Variant("state not retained", StateNotRetained, frozenset({"DHI-STATE-1.1"}), lambda tmp: PLUG_CLAIMS),
    Variant("non-UCUM unit", NonUcumUnit, frozenset({"DHI-UNIT-1.1"})),
    Variant("battery in per mille (wrong unit)", BatteryPerMille, frozenset({"DHI-UNIT-1.2"})),
    Variant("event payload not the catalog's", BadEventPayload, frozenset({"DHI-EVT-1.1"})),
    Variant("no command result", NoCommandResult, frozenset({"DHI-CMD-1.1"})),
    Variant("wrong error code", WrongErrorCode, frozenset({"DHI-ERR-1.7"})),
    Variant("invalid JSON (NaN)", NanJson, frozenset({"DHI-MSG-1.1"}), lambda tmp: PLUG_CLAIMS),
    Variant("ignores the Last Will", NoLastWill, frozenset({"DHI-AVAIL-1.2"})),
    Variant("lies in its claims", SmokeAlarm, frozenset({"DHI-CLAIM-1.1"}), lying_claims),
    Variant("self-test does nothing", SelfTestDoesNothing, frozenset({"DHI-SAFE-1.1"})),
    Variant("timeout never checked", IgnoresTimeout, frozenset({"DHI-FUZZ-1.1"}), fuzz_examples=60),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
async def test_a_broken_variant_fails_exactly_the_ids_of_its_defect(
    mosquitto: Mosquitto, tmp_path: Path, variant: Variant
) -> None:
    device = variant.device(mosquitto.url, "broken-1")
    report = await run(mosquitto, device, variant.claims(tmp_path), fuzz_examples=variant.fuzz_examples)
    assert ids_with(report, ResultStatus.FAIL) == variant.fails, describe(report)
    assert report.summary.error == 0, describe(report)
    for r in report.results:
        if r.id in variant.fails:
            assert r.evidence.message, f"{r.id} failed without saying why"


async def test_the_fuzz_failure_names_the_minimal_failing_request(mosquitto: Mosquitto) -> None:
    report = await run(mosquitto, IgnoresTimeout(mosquitto.url, "fuzzed-1"), SMOKE_CLAIMS, fuzz_examples=60)
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
