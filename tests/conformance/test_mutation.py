"""The mutation test of the conformance suite: the reference device passes, and every mutant
of ``mutants.py`` (one broken MUST rule of the DHI-MQTT binding each) fails exactly the cases
that cite the rules it breaks.

The mutants run concurrently against one real Mosquitto, each on its own device topic. Each
run is limited (``--only``) to the cases citing its rules plus every cheap case (all basic
cases that do not drop the device's connection), so a mutant that trips a case it should not
is seen; the disruptive and fuzz cases run only for the mutants whose rules they cite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from conformance import run_device_target
from conformance.registry import Phase, Tier, cases_for, citing
from dhi.models.conformance import Report, ResultStatus, TargetKind
from tests.conformance.mutants import GAPS, MUTANTS, README, Mutant, Reference, binding_rules, render
from tests.conformance.support import SMOKE_CLAIMS, describe, ids_with
from tests.support.mosquitto import Mosquitto, find_mosquitto

#: the suite's answer timeout in these runs: long enough for a loaded CI machine, short
#: enough that the mutants that do not answer cost little
ANSWER_TIMEOUT = 2.0
#: mutants run at once (each is a paho thread plus the suite's connection)
PARALLEL = 8

DEVICE_CASES = cases_for(TargetKind.DEVICE)
CHEAP = frozenset(c.id for c in DEVICE_CASES if c.tier is Tier.BASIC and c.phase is not Phase.DISRUPT)
FUZZ = frozenset(c.id for c in DEVICE_CASES if c.tier is Tier.FUZZ)


def expected_failures(mutant: Mutant) -> frozenset[str]:
    return frozenset().union(*(citing(rule) for rule in mutant.rules))


def selection(mutant: Mutant) -> set[str]:
    return set(CHEAP | expected_failures(mutant))


async def run_one(broker: Mosquitto, device: Reference, only: set[str] | None, fuzz_examples: int) -> Report:
    with device:
        return await run_device_target(
            broker.url,
            device.device,
            SMOKE_CLAIMS,
            max(fuzz_examples, 1),
            client_id=device.client_id,
            answer_timeout=ANSWER_TIMEOUT,
            reconnect_timeout=8.0,
            fuzz=fuzz_examples > 0,
            only=only,
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reports(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Report]]:
    broker = Mosquitto(find_mosquitto(), tmp_path_factory.mktemp("mutation-broker"))
    broker.start()
    slots = asyncio.Semaphore(PARALLEL)
    fuzzing = asyncio.Lock()  # hypothesis runs one property at a time

    async def guarded(name: str, device: Reference, only: set[str] | None, fuzz_examples: int) -> Report:
        async with slots:
            if fuzz_examples:
                async with fuzzing:
                    return await run_one(broker, device, only, fuzz_examples)
            return await run_one(broker, device, only, fuzz_examples)

    try:
        jobs = {"reference": guarded("reference", Reference(broker.url, "reference"), None, 15)}
        for i, m in enumerate(MUTANTS):
            jobs[m.name] = guarded(m.name, m.device(broker.url, f"mutant-{i}"), selection(m), m.fuzz_examples)
        done = await asyncio.gather(*jobs.values())
        yield dict(zip(jobs, done, strict=True))
    finally:
        broker.stop()


SLOW = pytest.mark.slow
IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


@SLOW
@IN_MODULE_LOOP
async def test_the_reference_device_passes_every_case(reports: dict[str, Report]) -> None:
    report = reports["reference"]
    assert report.summary.fail == report.summary.error == report.summary.warning == 0, describe(report)
    assert report.summary.not_applicable == 0, describe(report)
    assert {r.id for r in report.results} == {c.id for c in DEVICE_CASES}


@SLOW
@IN_MODULE_LOOP
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
async def test_each_mutant_fails_exactly_the_cases_citing_its_rules(
    reports: dict[str, Report], mutant: Mutant
) -> None:
    report = reports[mutant.name]
    want = expected_failures(mutant)
    assert want, f"no case cites {mutant.rules}: the mutant cannot be killed"
    assert ids_with(report, ResultStatus.FAIL) == want, describe(report)
    for r in report.results:
        if r.id in want:  # the verdict names the rule it enforces
            assert any(rule in (r.evidence.message or "") for rule in mutant.rules), (
                r.id,
                r.evidence.message,
            )
        if r.status is ResultStatus.ERROR:  # a consequence, which names the case that judges the cause
            assert "(see DHI-" in (r.evidence.message or ""), (r.id, r.evidence.message)


def test_every_must_rule_of_the_binding_has_a_mutant_or_is_a_listed_gap() -> None:
    rules = binding_rules()
    covered = {r for m in MUTANTS for r in m.rules}
    assert set(rules) == covered | set(GAPS), {"no mutant": set(rules) - covered - set(GAPS)}
    assert not covered & set(GAPS)
    assert not covered - set(rules), "mutants name rules the binding does not have"
    cited = {r for c in DEVICE_CASES for r in c.rules}
    assert cited <= set(rules), "cases cite rules the binding does not have"
    assert covered <= cited, "rules with a mutant but no case citing them"


def test_the_readme_mutation_table_is_current() -> None:
    assert render() in Path(README).read_text(encoding="utf-8"), (
        "conformance/README.md is out of date: run python -m tests.conformance.mutants"
    )
