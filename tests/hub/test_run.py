"""`dhome run --demo` (what `make run` starts): a live simulated home, visible to `dhome state dump`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DHOME = [sys.executable, "-m", "hub.cli"]


@pytest.mark.slow
def test_demo_hub_shows_a_live_home_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log_path = tmp_path / "hub.log"
    env = os.environ | {"DHOME_LOG_LEVEL": "info"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*DHOME, "run", "--demo", "--port", "0", "--data-dir", str(data)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            changes: list[str] = []
            while time.monotonic() < deadline and len(changes) < 5:
                time.sleep(0.5)
                text = log_path.read_text(encoding="utf-8", errors="replace")
                changes = [line for line in text.splitlines() if "dhome.activity" in line and " = " in line]
            assert len(changes) >= 5, text[-3000:]
            assert str(data) in text, "the hub must say where its data lives"
            out = subprocess.run(
                [*DHOME, "state", "dump", "--data-dir", str(data)], capture_output=True, text=True
            )
            assert out.returncode == 0, out.stderr
            dump = json.loads(out.stdout)
            demo = {k: v for k, v in dump["devices"].items() if k.startswith("virtual:") and v["state"]}
            assert len(demo) >= 20
            assert any(d["room"] == "kitchen" for d in demo.values())
        finally:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=30)
    assert rc == 0, log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")
