"""`dhome run --config bad.yaml`: exit 1, one clear message naming file, key path and expectation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dhi.errors import ConfigError
from hub.config import load_config

BAD: dict[str, tuple[str, str]] = {
    "yaml-syntax": ("home: {id: [unclosed\n", ":1:"),
    "not-a-mapping": ("- just\n- a list\n", "top level must be a mapping"),
    "unknown-top-key": ("apii: {port: 1}\n", "apii: unknown key"),
    "wrong-type": ("api: {port: eighty}\n", "api.port: Input should be a valid integer"),
    "port-range": ("api: {port: 70000}\n", "api.port: Input should be less than or equal to 65535"),
    "bad-home-id": ("home: {id: 'My Home!'}\n", "home.id: String should match pattern"),
    "division-code": ("home: {division_code: '11-01'}\n", "home.division_code"),
    "unknown-adapter": (
        "adapters: [{type: zigbe2mqtt}]\n",
        "adapters[0].type: no adapter named 'zigbe2mqtt'",
    ),
    "adapter-config-key": (
        "adapters: [{type: virtual, config: {scenery: x}}]\n",
        "adapters[0].config.scenery: unknown key",
    ),
    "adapter-missing-type": ("adapters: [{name: x}]\n", "adapters[0].type: required key is missing"),
    "duplicate-instance": ("adapters: [{type: virtual}, {type: virtual}]\n", "used twice"),
    "negative-retention": (
        "storage: {history_days: -1}\n",
        "storage.history_days: Input should be greater than 0",
    ),
    "log-level": ("log_level: loud\n", "log_level: Input should be"),
    "alerts-typo": ("alerts: {rulez: {}}\n", "alerts.rulez: unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_one_clear_line_and_exit_1(tmp_path: Path, case: str) -> None:
    text, expected = BAD[case]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "run", "--config", str(cfg), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert str(cfg) in lines[0]
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "d").exists(), "nothing may start (or be created) with a bad config"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "empty.yaml"
    cfg.write_text("", encoding="utf-8")
    conf = load_config(cfg)
    assert conf.home.id == "home" and conf.api.port == 8470 and conf.adapters == []
