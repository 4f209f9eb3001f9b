"""Smoke-size runs of every benchmark scenario (``python -m bench --smoke``'s sizes): each must
produce its figures, sane ones. Never a time assertion: performance is reported by
``make bench``, not tested."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import __main__ as bench_main
from bench.figures import Figure, percentile
from bench.progress import Display

pytestmark = pytest.mark.slow

EXPECTED = {
    **{w: {f"{w}.{f}" for f in ("raw_paho_orjson", "hub", "hub_pure_python", "rss_idle", "rss_peak")}
       for w in ("ingestion", "ingestion_one")},
    "burst": {"burst.hub", "burst.rss_idle", "burst.rss_peak", "burst.history_coalesced", "burst.final_values_landed"},
    "alert_latency": {"alert.raw_mqtt_rtt.p50", "alert.raw_mqtt_rtt.p99", "alert.webhook.p50",
                      "alert.webhook.p99", "alert.uplink.p50", "alert.uplink.p99",
                      *(f"alert.burst.{p}.{q}" for p in ("webhook", "uplink", "raw_mqtt_rtt") for q in ("p50", "p99")),
                      "alert.burst.hub_added.p99"},
    "scale": {"scale.rss.10", "scale.rss.500", "scale.rss_per_device", "scale.cold_start.10", "scale.cold_start.500"},
    "conformance": {"conformance.device_target"},
    "api_load": {f"api.n3.{f}" for f in ("delivered.min", "delivered.median", "rest.p50", "rest.p99",
                                         "health.max", "rss.peak")},
    "platform": {"platform.bare_verify", "platform.pg_1_worker", "platform.pg_2_workers"},
    "city": {"city.homes_connected", "city.nats_rss_per_1k_homes", *(f"city.{p}.{f}" for p in ("single_1w", "r3_1w", "r3_2w")
                                       for f in ("alerts_per_s", "p50", "p99", "cpu_ms.nats", "cpu_ms.worker",
                                                 "cpu_ms.postgres", "cpu_ms.homes")),
             *(f"city.faults.{f}" for f in ("acked", "committed", "lost", "duplicate_rows",
                                            "duplicates_suppressed", "p99"))},
}  # fmt: skip


def run_smoke(name: str, tmp_path: Path) -> list[Figure]:
    scenario = next(s for s in bench_main.SCENARIOS if s.name == name)
    with Display(quiet=True) as display:
        return scenario.smoke(tmp_path, display)


def by_name(figures: list[Figure]) -> dict[str, Figure]:
    return {f.bench: f for f in figures}


#: a difference of two measurements: at smoke size it is noise and may come out negative
DIFFERENCES = {"scale.rss_per_device"}
#: counts whose goal is 0 (nothing lost, no duplicate row) or that may well be 0 at smoke size
ZEROS = {
    "burst.history_coalesced",  # SQLite may keep up with a smoke-size burst
    "city.nats_rss_per_1k_homes",
    "city.faults.lost",
    "city.faults.duplicate_rows",
    "city.faults.duplicates_suppressed",
}


def assert_sane(f: Figure) -> None:
    assert f.value is not None and math.isfinite(f.value), f
    # CPU time is counted in ticks (10 ms): a small part at smoke size may show none
    assert f.value > 0 or f.bench in DIFFERENCES | ZEROS or ".cpu_ms." in f.bench, f
    if f.ceiling is not None:
        assert f.ceiling > 0 and f.ratio == pytest.approx(f.value / f.ceiling, rel=1e-3), f
    line = orjson.loads(orjson.dumps(f.as_json()))
    assert list(line)[:5] == ["bench", "value", "unit", "ceiling", "ratio"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_produces_its_figures(name: str, tmp_path: Path) -> None:
    figures = run_smoke(name, tmp_path)
    assert {f.bench for f in figures} == EXPECTED[name], figures
    for f in figures:
        assert_sane(f)
    got = by_name(figures)
    if name == "alert_latency":  # a percentile of the same samples cannot shrink
        for path in ("raw_mqtt_rtt", "webhook", "uplink"):
            assert got[f"alert.{path}.p50"].value <= got[f"alert.{path}.p99"].value  # type: ignore[operator]
    if name == "scale":
        assert got["scale.rss.500"].unit == "MB" and got["scale.cold_start.500"].unit == "s"
    if name == "api_load":  # shares of the stream, and percentiles of the same samples
        for share in ("delivered.min", "delivered.median"):
            assert got[f"api.n3.{share}"].value <= 1.0 and got[f"api.n3.{share}"].unit == "ratio"  # type: ignore[operator]
        assert got["api.n3.delivered.min"].value <= got["api.n3.delivered.median"].value  # type: ignore[operator]
        assert got["api.n3.rest.p50"].value <= got["api.n3.rest.p99"].value  # type: ignore[operator]
        assert got["api.n3.rest.p50"].ceiling <= got["api.n3.rest.p99"].ceiling  # type: ignore[operator]
        assert "non-200: 0" in got["api.n3.rest.p99"].note, got
        assert got["api.n3.rss.peak"].unit == "MB"
    if name.startswith("ingestion"):  # the A/B says which build each hub process ran
        assert "A/B" in got[f"{name}.hub_pure_python"].note and "compiled" in got[f"{name}.hub"].note, got
    if name == "conformance":
        assert "0 fail, 0 error" in got["conformance.device_target"].note, got
    if name == "city":  # every home connected; through the faults nothing lost, nothing twice
        assert got["city.homes_connected"].meets, got
        for f in ("committed", "lost", "duplicate_rows"):
            assert got[f"city.faults.{f}"].meets, got[f"city.faults.{f}"]
        for p in ("single_1w", "r3_1w", "r3_2w"):
            assert got[f"city.{p}.p50"].value <= got[f"city.{p}.p99"].value  # type: ignore[operator]


def test_main_writes_json_lines_and_latest_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "latest.json"
    failed = bench_main.run(["conformance"], smoke=True, out=out, quiet=True, workdir=tmp_path)
    assert failed == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    result = orjson.loads(out.read_bytes())
    assert [line["bench"] for line in lines] == ["conformance.device_target"]
    assert result["figures"] == lines and result["smoke"] is True
    assert result["machine"]["cpus"] >= 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


@given(st.floats(1e-6, 1e9), st.floats(1e-3, 1e9))
def test_a_ratio_keeps_its_precision_however_small(value: float, ceiling: float) -> None:
    """Rounded to significant digits, not decimals: 146 of 5046 is 0.02893, not 0.0289."""
    ratio = Figure("x", value, "msg/s", ceiling).ratio
    assert ratio == pytest.approx(value / ceiling, rel=1e-3)


def test_a_figure_without_a_value_has_no_ratio() -> None:
    f = Figure("x", None, "s", 30.0, note="not available yet")
    assert f.ratio is None and f.as_json()["value"] is None


def test_in_process_tool_ingests_every_message(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench.inproc`` (the quick tool for ingestion changes) runs and checks that
    every change reached the history table (it exits otherwise)."""
    from bench import inproc

    inproc.main(["--devices", "20", "--messages", "400", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "µs/message wall" in out and "20 devices, 400 messages" in out


def test_a_result_written_together_with_ready_is_not_lost() -> None:
    """A quick child writes "ready" and its result at once (both reach the pipe before the
    bench reads it, as on a loaded machine): the result must still be read."""
    from bench.procs import Child

    script = "import sys; sys.stdout.write('ready\\n{\"sent\": 3}\\n')"
    child = Child("echo", argv=[sys.executable, "-c", script])
    child.popen.wait(timeout=30)  # both lines are in the pipe before the first read
    child.wait_ready()
    assert child.result(timeout=30) == {"sent": 3}
