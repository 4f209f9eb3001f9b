"""Running the cases of one target: applicability from the claims, outcomes to results, progress."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from conformance.outcome import Outcome
from conformance.registry import Case, Tier
from dhi.models.conformance import Claims, Evidence, Profile, Report, ResultStatus, Summary, TestResult

log = logging.getLogger("dhome.conformance")

#: a case that runs longer than this is stopped and reported as an error (the target hung it)
DEFAULT_CASE_TIMEOUT = 120.0


class ProgressSink(Protocol):
    def begin(self, target: str, total: int) -> None: ...
    def case_started(self, case: Case) -> None: ...
    def case_done(self, case: Case, result: TestResult) -> None: ...
    def end(self) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    fuzz: bool = True
    case_timeout: float = DEFAULT_CASE_TIMEOUT
    only: frozenset[str] | None = None  # run only these ids (the rest are not reported)


def applicability(case: Case, claims: Claims, options: RunOptions) -> str | None:
    """Why ``case`` does not apply to these claims, or None when it does."""
    if case.tier is Tier.FUZZ and not options.fuzz:
        return "the fuzz tier is off (--no-fuzz)"
    # core applies to every product; the other profiles only when claimed
    if case.profile is not Profile.CORE and case.profile not in claims.profiles:
        return f"profile {case.profile.value!r} is not claimed"
    missing = [c for c in case.needs if c not in claims.capabilities]
    if missing:
        return "capability not claimed: " + ", ".join(missing)
    return None


def _result(case: Case, status: ResultStatus, evidence: Evidence, started: float) -> TestResult:
    return TestResult(
        id=case.id,
        title=case.title,
        status=status,
        section=case.section,
        profile=case.profile,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        evidence=evidence,
    )


async def run_case(case: Case, ctx: Any, claims: Claims, options: RunOptions) -> TestResult:
    started = time.perf_counter()
    reason = applicability(case, claims, options)
    if reason is not None:
        return _result(case, ResultStatus.NOT_APPLICABLE, Evidence(message=reason), started)
    try:
        async with asyncio.timeout(options.case_timeout):
            evidence = await case.func(ctx)
    except Outcome as out:
        return _result(case, out.status, out.evidence, started)
    except TimeoutError:
        msg = f"the case did not finish within {options.case_timeout:g} s"
        return _result(case, ResultStatus.ERROR, Evidence(message=msg), started)
    except Exception as exc:  # a bug in the suite or an unexpected target reaction: reported, not raised
        log.debug("case %s raised", case.id, exc_info=True)
        msg = f"the case could not be evaluated: {type(exc).__name__}: {exc}"
        return _result(case, ResultStatus.ERROR, Evidence(message=msg), started)
    return _result(case, ResultStatus.PASS, evidence or Evidence(message="ok"), started)


async def run_cases(
    cases: Sequence[Case],
    ctx: Any,
    claims: Claims,
    options: RunOptions,
    *,
    progress: ProgressSink | None = None,
    target_name: str = "",
) -> list[TestResult]:
    selected = [c for c in cases if options.only is None or c.id in options.only]
    if progress is not None:
        progress.begin(target_name, len(selected))
    results: list[TestResult] = []
    try:
        for case in selected:
            if progress is not None:
                progress.case_started(case)
            result = await run_case(case, ctx, claims, options)
            results.append(result)
            if progress is not None:
                progress.case_done(case, result)
    finally:
        if progress is not None:
            progress.end()
    return sorted(results, key=lambda r: _id_key(r.id))


def _id_key(case_id: str) -> tuple[str, int, int]:
    area, nums = case_id.removeprefix("DHI-").rsplit("-", 1)
    major, minor = nums.split(".")
    return (area, int(major), int(minor))


def summarize(results: Sequence[TestResult]) -> Summary:
    counts = {s: 0 for s in ResultStatus}
    for r in results:
        counts[r.status] += 1
    return Summary.model_validate(
        {
            "pass": counts[ResultStatus.PASS],
            "fail": counts[ResultStatus.FAIL],
            "not_applicable": counts[ResultStatus.NOT_APPLICABLE],
            "warning": counts[ResultStatus.WARNING],
            "error": counts[ResultStatus.ERROR],
        }
    )


def build_report(
    target: dict[str, Any], claims: Claims, results: list[TestResult], started: datetime
) -> Report:
    return Report(
        started=started,
        finished=datetime.now(UTC),
        target=target,
        claims=claims,
        results=results,
        summary=summarize(results),
    )


def exit_code(report: Report) -> int:
    """0 only when nothing failed (warnings and not-applicable are fine; errors are not)."""
    return 0 if report.summary.fail == 0 and report.summary.error == 0 else 1
