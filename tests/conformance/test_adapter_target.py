"""The adapter target: the example third-party package, really installed, passes through the
CLI; broken variants of it (built here) fail exactly the ids of their defect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import run_adapter_target
from dhi.models import CommandRequest, CommandResult
from dhi.models.conformance import ResultStatus
from tests.conformance.support import REPO, describe, ids_with

EXAMPLE = REPO / "examples" / "custom_adapter"
FIXTURES = EXAMPLE / "conformance"
CLAIMS = FIXTURES / "claims.yaml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``pip install`` of the example package into a private target dir (the shared venv is left alone)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    yield target


@pytest.fixture
def acme(installed: Path) -> Iterator[type[Any]]:
    sys.path.insert(0, str(installed))
    try:
        from dhome_acme import AcmeAdapter

        yield AcmeAdapter
    finally:
        sys.path.remove(str(installed))


@pytest.mark.slow
def test_the_installed_example_adapter_passes_through_its_entry_point(
    installed: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(REPO)])}
    assert list(installed.glob("dhome_acme_adapter-*.dist-info/entry_points.txt"))
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "adapter", "--adapter", "acme", "--fixtures", str(FIXTURES),
         "--claims", str(CLAIMS), "--fuzz-examples", "20", "--report-dir", str(tmp_path), "--json"],
        check=False, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["target"]["entry_point"] is True
    assert report["summary"]["fail"] == 0 and report["summary"]["error"] == 0
    assert report["summary"]["not_applicable"] == 0  # every adapter case applied, fuzz tier included
    assert (tmp_path / "conformance-junit.xml").exists() and (tmp_path / "conformance-report.html").exists()


def _variant(base: type[Any], **methods: Any) -> type[Any]:
    return type(f"Broken{base.__name__}", (base,), methods)


async def test_an_adapter_that_blocks_the_loop_fails_only_that(acme: type[Any]) -> None:
    async def start(self: Any, ctx: Any) -> None:
        time.sleep(0.6)  # a blocking HTTP call to the gateway, say
        await acme.start(self, ctx)

    report = await run_adapter_target(_variant(acme, start=start), FIXTURES, CLAIMS, 10)
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-ADP-5.2"}, describe(report)
    assert "start()" in (next(r for r in report.results if r.id == "DHI-ADP-5.2").evidence.message or "")


async def test_an_adapter_that_raises_on_bad_commands_fails_the_error_answer_ids(acme: type[Any]) -> None:
    async def execute_unchecked(self: Any, cmd: CommandRequest) -> CommandResult:
        uid = (cmd.device or "").split(":", 1)[1]
        self.sim.devices[uid]
        return await acme.execute(self, cmd)

    report = await run_adapter_target(_variant(acme, execute=execute_unchecked), FIXTURES, CLAIMS, 10)
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-ADP-3.3"}, describe(report)


(_RECORDED_FILE,) = (FIXTURES / "recorded").glob("*.json")  # the example ships one recording
RECORDED = json.loads(_RECORDED_FILE.read_text(encoding="utf-8"))


def _walk_trusting(recorded: Any, data: Any) -> None:
    """Read ``data`` as if it had ``recorded``'s shape, with no checks at all."""
    if isinstance(recorded, dict):
        for key, value in recorded.items():
            _walk_trusting(value, data.get(key))
    elif isinstance(recorded, list):
        data.append  # noqa: B018 - a list's method: AttributeError on anything else
        for i, value in enumerate(recorded[: len(data)]):
            _walk_trusting(value, data[i])
    elif isinstance(recorded, str):
        data.upper()
    elif isinstance(recorded, (int, float)):
        data.real  # noqa: B018 - a number's attribute: AttributeError on anything else


async def test_an_adapter_whose_offline_mapper_crashes_on_odd_data_fails_the_fuzz_id(acme: type[Any]) -> None:
    def map_offline(cls: type[Any], data: Any) -> Any:
        # the bug: the recording's shape is trusted, object by object and value by value, so
        # (nearly) every mutation — a changed type, a dropped key — ends in an AttributeError.
        # Crashing on any mutation, not on one path, keeps the test independent of which
        # inputs hypothesis happens to draw (they depend on what the process has imported).
        if not isinstance(data, dict):
            raise TypeError("a recording is a JSON object")  # the one thing it does check
        _walk_trusting(RECORDED, data)
        return acme.map_offline(data)

    report = await run_adapter_target(
        _variant(acme, map_offline=classmethod(map_offline)), FIXTURES, CLAIMS, 20
    )
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-FUZZ-2.1"}, describe(report)
    fuzz = next(r for r in report.results if r.id == "DHI-FUZZ-2.1")
    assert "crashed: AttributeError" in (fuzz.evidence.message or "")
    assert isinstance(fuzz.evidence.sent, dict)  # the mutated recording that does it


async def test_a_lying_adapter_claim_fails_the_claim_id(acme: type[Any], tmp_path: Path) -> None:
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        CLAIMS.read_text(encoding="utf-8").replace("x.acme.led]", "x.acme.led, dhi.tamper]"), encoding="utf-8"
    )
    report = await run_adapter_target(acme, FIXTURES, claims, fuzz=False)
    assert ids_with(report, ResultStatus.FAIL) == {"DHI-CLAIM-2.1"}, describe(report)
