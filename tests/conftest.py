"""Shared test setup. Real services (Mosquitto, python-matter-server, PostgreSQL) come from tests/support."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


#: Test directories whose servers share one resource outside their temp dirs: their tests run
#: in one pytest-xdist worker, one after the other (the CHIP stack of every python-matter-server
#: keeps its chip_*.ini files in /data).
SHARED_HOST_RESOURCES = {"tests/adapters/matter/": "matter-server"}


def xdist_group_of(nodeid: str) -> str:
    """The unit `make test`'s two pytest-xdist workers share out: a test module (its
    module-scoped servers start once, in one worker), or a group of the modules above."""
    module = nodeid.split("::", 1)[0]
    return next((g for prefix, g in SHARED_HOST_RESOURCES.items() if module.startswith(prefix)), module)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with the units of ``xdist_group_of``, in collection order (the
    workers put the slow units first, see below), not reordered by their number of tests.
    (``--dist loadgroup`` cannot be used: its group marks are lost with pytest >= 9.)"""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    config.option.loadscopereorder = False
    return ByGroup(config, log)


def unique_node_ids(items: list[pytest.Item]) -> None:
    """Every test has its own node id. pytest-xdist hands out tests by node id: of items that
    share one, only the first ever ran (schemathesis names its 35 API operations
    ``…[GET /health]`` but gives them one node id: 34 were silently left out). Such items take
    their name as the last part of their id; an id still shared stops the run."""
    count = Counter(item.nodeid for item in items)
    for item in items:
        if count[item.nodeid] > 1 and "::" in item.nodeid:
            rename(item, f"{item.nodeid.rsplit('::', 1)[0]}::{item.name}")
    shared = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if shared:
        raise pytest.UsageError(f"tests share a node id, so some would not run: {shared[:5]}")


def rename(item: pytest.Item, nodeid: str) -> None:
    if hasattr(item, "_id"):  # pytest >= 9 keeps the id structured
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)  # type: ignore[attr-defined,unused-ignore]
    else:
        item._nodeid = nodeid  # type: ignore[attr-defined,unused-ignore]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unique node ids; in an xdist worker, the units with the most slow tests first, so the many
    quick ones fill the gaps at the end instead of one long module (every worker collects the
    same order)."""
    unique_node_ids(items)
    if not hasattr(config, "workerinput"):
        return
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(xdist_group_of(item.nodeid), []).append(item)
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
