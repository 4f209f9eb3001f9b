"""Shared test setup. Real services (Mosquitto, python-matter-server, PostgreSQL) come from tests/support."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.bridges.receiver import Receiver

# Tests never assert wall-clock time (a loaded 2-core CI box is not a stopwatch): hypothesis's
# per-example deadline and its "too slow" health check are timing assertions, so they are off
# for every test; a test may still set its own settings.
settings.register_profile("dhome", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dhome")

pytest_plugins = [
    "tests.support.mosquitto",
    "tests.support.matter_server",
    "tests.support.postgres",
    "tests.support.nats",
    "tests.support.homeassistant",
]

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DHOME_LOG_LEVEL", "warning")
    # CLI tables fold to the terminal width; pin it so results do not depend on
    # the developer's terminal (tests that care about width set their own).
    os.environ["COLUMNS"] = "120"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true a skipped test is a failure: a missing component must be installed, not skipped."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI=true: {skipped} test(s) skipped — skips are failures in CI", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    assert SHARED_FIXTURES.is_dir(), f"shared fixtures not found at {SHARED_FIXTURES}"
    return SHARED_FIXTURES


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real loopback webhook receiver verifying Standard Webhooks signatures."""
    r = Receiver()
    await r.up()
    yield r
    await r.down()
