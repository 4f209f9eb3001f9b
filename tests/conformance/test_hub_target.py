"""The hub target against dhome's own hub (real HTTP on loopback, real SQLite), and against the
same hub behind a proxy that disables authentication."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import run_hub_target
from dhi.models.conformance import Claims, ResultStatus, TargetKind
from hub.api.models import Scope
from tests.api.support import running_hub
from tests.conformance.noauth_proxy import noauth_proxy
from tests.conformance.support import describe, ids_with

pytestmark = pytest.mark.slow

CLAIMS = Claims(vendor="dhome", product="dhome hub", target=TargetKind.HUB, profiles=["core"],
                capabilities=["dhi.on_off", "dhi.level", "dhi.smoke_alarm"])  # fmt: skip
AUTH_IDS = {"DHI-SEC-1.1", "DHI-SEC-1.2", "DHI-SEC-1.3", "DHI-SEC-1.4"}


async def test_dhomes_own_hub_passes_the_hub_target(tmp_path: Path, shared_fixtures: Path) -> None:
    async with running_hub(tmp_path) as h:
        report = await run_hub_target(
            h.url,
            h.tokens[Scope.ADMIN],
            CLAIMS,
            20,
            td_schema=shared_fixtures / "wot" / "td-json-schema-validation.json",
        )
        remaining = await h.api.context.tokens.list()
    assert report.summary.fail == 0 and report.summary.error == 0 and report.summary.warning == 0, describe(
        report
    )
    assert report.summary.not_applicable == 0, describe(report)
    assert AUTH_IDS | {"DHI-TD-1.1", "DHI-WS-1.2", "DHI-FUZZ-3.1", "DHI-FUZZ-3.2"} <= ids_with(
        report, ResultStatus.PASS
    )
    td = next(r for r in report.results if r.id == "DHI-TD-1.1")
    assert "W3C" in (td.evidence.message or "")
    # the scoped tokens the suite made were revoked again
    assert all(t.revoked is not None for t in remaining if t.name.startswith("dhi-conformance-"))


async def test_a_hub_with_authentication_disabled_fails_exactly_the_auth_ids(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, noauth_proxy(h.url, h.tokens[Scope.ADMIN]) as url:
        report = await run_hub_target(url, "any-token-works-here", CLAIMS, 10)
    assert ids_with(report, ResultStatus.FAIL) == AUTH_IDS, describe(report)
    assert report.summary.error == 0, describe(report)


async def test_a_read_token_cannot_run_the_suite_and_says_why(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        report = await run_hub_target(h.url, h.tokens[Scope.READ], CLAIMS, fuzz=False, only={"DHI-SEC-1.3"})
    (result,) = report.results
    assert result.status is ResultStatus.ERROR
    assert "admin token" in (result.evidence.message or "")
