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


#: Fixtures whose servers share one resource outside their temp dirs: their tests run in one
#: pytest-xdist worker, one after the other (the CHIP stack of every python-matter-server keeps
#: its chip_*.ini files in /data).
SHARED_HOST_RESOURCES = {"matter_server": "matter-server", "matter_server_factory": "matter-server"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite in two pytest-xdist workers with ``--dist loadgroup``: a test
    module is one group (its module-scoped servers start once, in one worker), except tests of
    the fixtures above, which share a group across modules. Groups with the most slow tests go
    first, so the many quick ones fill the gaps at the end instead of one long module."""
    if not config.pluginmanager.hasplugin("xdist") or config.getoption("dist", "no") != "loadgroup":
        return
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None:
            name = str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
        else:
            fixtures = getattr(item, "fixturenames", ())
            shared = next((g for f, g in SHARED_HOST_RESOURCES.items() if f in fixtures), None)
            name = shared or item.nodeid.split("::", 1)[0]
            item.add_marker(pytest.mark.xdist_group(name))
        groups.setdefault(name, []).append(item)
    ordered = sorted(groups.values(), key=lambda g: -sum(1 for i in g if i.get_closest_marker("slow")))
    items[:] = [item for group in ordered for item in group]


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
