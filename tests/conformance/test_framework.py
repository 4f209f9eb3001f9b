"""The suite's framework: the registry, claims loading, the runner's rules and the three reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from junitparser import JUnitXml

from conformance.catalogue import PAGE, main, render
from conformance.claims import ClaimsError, load_claims
from conformance.outcome import Failed
from conformance.registry import CASE_ID, REGISTRY, Case, RegistryError, Tier, all_cases, case
from conformance.report import render_html, render_junit, report_json, write_reports
from conformance.runner import RunOptions, applicability, build_report, exit_code, run_case
from dhi.models.conformance import Claims, Evidence, Profile, Report, ResultStatus, TargetKind, TestResult
from dhi.specdata import schema_path
from tests.conformance.support import SMOKE_CLAIMS


def test_case_ids_are_unique_well_formed_and_cite_the_spec() -> None:
    cases = all_cases()
    assert len(cases) == len({c.id for c in cases}) == len(REGISTRY) >= 60
    for c in cases:
        assert CASE_ID.match(c.id), c.id
        assert c.section.startswith("§") and c.title
    assert {c.target for c in cases} == set(TargetKind)
    assert {c.id for c in cases if c.tier is Tier.FUZZ} >= {"DHI-FUZZ-1.1", "DHI-FUZZ-2.1", "DHI-FUZZ-3.1"}


def test_registering_an_id_twice_or_a_bad_id_is_refused() -> None:
    with pytest.raises(RegistryError, match="registered twice"):
        case("DHI-DESC-1.1", "again", section="§1", target=TargetKind.DEVICE)(_noop)
    with pytest.raises(RegistryError, match="DHI-<AREA>"):
        case("DESC-1", "bad", section="§1", target=TargetKind.DEVICE)
    with pytest.raises(RegistryError, match="cite the spec"):
        case("DHI-ZZZ-9.9", "bad", section="3.1", target=TargetKind.DEVICE)


async def _noop(ctx: object) -> Evidence:
    return Evidence()


def test_the_generated_catalogue_page_is_up_to_date() -> None:
    assert main(["--check", str(PAGE)]) == 0, "run: python -m conformance.catalogue"
    page = render()
    for c in all_cases():
        assert f"`{c.id}`" in page


def test_the_example_claims_load() -> None:
    claims = load_claims(SMOKE_CLAIMS, TargetKind.DEVICE)
    assert claims.profiles == [Profile.CORE, Profile.SAFETY]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"profiles": []}, "$.profiles"),
        ({"capabilities": ["dhi.smoke_alarm", "Smoke Alarm"]}, "$.capabilities[1]"),
        ({"target": "toaster"}, "$.target"),
        ({"colour": "red"}, "$"),
    ],
)
def test_invalid_claims_name_the_json_path(tmp_path: Path, change: dict[str, object], path: str) -> None:
    doc = yaml.safe_load(SMOKE_CLAIMS.read_text(encoding="utf-8")) | change
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ClaimsError) as err:
        load_claims(bad)
    assert any(p.startswith(path) for p in err.value.problems), err.value.problems


def test_claims_for_another_target_are_refused() -> None:
    with pytest.raises(ClaimsError, match=r"\$\.target: the claims are for a device"):
        load_claims(SMOKE_CLAIMS, TargetKind.HUB)


def test_a_missing_claims_file_is_a_claims_error(tmp_path: Path) -> None:
    with pytest.raises(ClaimsError, match="no such file"):
        load_claims(tmp_path / "nope.yaml")


def _case(profile: Profile = Profile.CORE, needs: tuple[str, ...] = (), tier: Tier = Tier.BASIC) -> Case:
    return Case("DHI-TEST-1.1", "t", "§1", TargetKind.DEVICE, profile, _noop, needs, tier)


CLAIMS = Claims(
    vendor="v", product="p", target=TargetKind.DEVICE, profiles=[Profile.CORE], capabilities=["dhi.on_off"]
)


def test_unclaimed_profiles_capabilities_and_the_fuzz_tier_are_not_applicable() -> None:
    assert applicability(_case(), CLAIMS, RunOptions()) is None
    assert "profile 'safety'" in (applicability(_case(Profile.SAFETY), CLAIMS, RunOptions()) or "")
    assert "dhi.battery" in (applicability(_case(needs=("dhi.battery",)), CLAIMS, RunOptions()) or "")
    assert applicability(_case(needs=("dhi.on_off",)), CLAIMS, RunOptions()) is None
    assert "fuzz" in (applicability(_case(tier=Tier.FUZZ), CLAIMS, RunOptions(fuzz=False)) or "")


async def test_outcomes_and_crashes_of_a_case_become_results() -> None:
    async def fails(ctx: object) -> Evidence:
        raise Failed("nope", sent={"a": 1}, expected=2, got=3)

    async def crashes(ctx: object) -> Evidence:
        raise ZeroDivisionError("boom")

    async def hangs(ctx: object) -> Evidence:
        import asyncio

        await asyncio.sleep(10)
        return Evidence()

    base = _case()
    failed = await run_case(Case(**{**base.__dict__, "func": fails}), None, CLAIMS, RunOptions())
    assert failed.status is ResultStatus.FAIL and failed.evidence.got == 3
    crashed = await run_case(Case(**{**base.__dict__, "func": crashes}), None, CLAIMS, RunOptions())
    assert crashed.status is ResultStatus.ERROR and "ZeroDivisionError" in (crashed.evidence.message or "")
    hung = await run_case(
        Case(**{**base.__dict__, "func": hangs}), None, CLAIMS, RunOptions(case_timeout=0.05)
    )
    assert hung.status is ResultStatus.ERROR and "did not finish" in (hung.evidence.message or "")


EVIL = '<script>alert("x")</script>&'


def sample_report(statuses: list[ResultStatus]) -> Report:
    results = [
        TestResult(id=f"DHI-TEST-1.{i}", title=f"case {i} {EVIL}", status=s, section="§1", profile=Profile.CORE,
                   duration_ms=1.5, evidence=Evidence(message=f"why {EVIL}", sent={"k": EVIL}, expected=1, got=[2]))
        for i, s in enumerate(statuses)
    ]  # fmt: skip
    claims = Claims(vendor=f"ACME {EVIL}", product="P", target=TargetKind.DEVICE, profiles=[Profile.CORE])
    return build_report({"kind": "device", "device": EVIL}, claims, results, datetime.now(UTC))


def test_the_json_report_validates_against_its_schema() -> None:
    import json

    report = sample_report(list(ResultStatus))
    doc = json.loads(report_json(report))
    schema = json.loads(schema_path("report").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(doc))
    assert not errors, errors
    assert doc["summary"] == {"pass": 1, "fail": 1, "not_applicable": 1, "warning": 1, "error": 1}
    assert {r["id"] for r in doc["results"]} == {f"DHI-TEST-1.{i}" for i in range(5)}


def test_the_junit_xml_is_read_by_junitparser(tmp_path: Path) -> None:
    report = sample_report(list(ResultStatus))
    path = tmp_path / "junit.xml"
    path.write_bytes(render_junit(report))
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 1, 1, 1)
    outcomes = {tc.name.split()[0]: [type(r).__name__ for r in tc.result] for tc in suite}
    assert outcomes == {"DHI-TEST-1.0": [], "DHI-TEST-1.1": ["Failure"], "DHI-TEST-1.2": ["Skipped"],
                        "DHI-TEST-1.3": [], "DHI-TEST-1.4": ["Error"]}  # fmt: skip


def test_the_html_report_is_self_contained_and_escapes_everything() -> None:
    page = render_html(sample_report([ResultStatus.PASS, ResultStatus.FAIL]))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "src=" not in page and "href=" not in page  # nothing to fetch
    assert "FAILED" in page and "DHI-TEST-1.1" in page and "&amp;" in page


def test_exit_code_is_zero_only_without_fails_and_errors(tmp_path: Path) -> None:
    assert (
        exit_code(sample_report([ResultStatus.PASS, ResultStatus.WARNING, ResultStatus.NOT_APPLICABLE])) == 0
    )
    assert exit_code(sample_report([ResultStatus.PASS, ResultStatus.FAIL])) == 1
    assert exit_code(sample_report([ResultStatus.ERROR])) == 1
    paths = write_reports(sample_report([ResultStatus.PASS]), tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == [
        "conformance-junit.xml", "conformance-report.html", "conformance-report.json"]  # fmt: skip


@given(st.lists(st.sampled_from(list(ResultStatus)), max_size=12), st.text(max_size=30))
def test_every_report_renders_valid_json_junit_and_html(statuses: list[ResultStatus], text: str) -> None:
    report = sample_report(statuses)
    report.results[:1] = [
        r.model_copy(update={"evidence": Evidence(message=text, got=text)}) for r in report.results[:1]
    ]
    report_json(report)  # validates against the schema or raises
    xml = (
        JUnitXml.fromstring(render_junit(report).decode("utf-8")) if hasattr(JUnitXml, "fromstring") else None
    )
    assert xml is None or sum(1 for _ in xml) == 1
    assert "<script>" not in render_html(report)
