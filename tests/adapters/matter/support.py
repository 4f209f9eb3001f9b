"""Shared helpers of the Matter adapter tests: the fixture nodes.

Unit tests drive the adapter through ``tests.support.recording.RecordingContext``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NODES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "matter" / "nodes"
#: dumps built for this repository from the Matter spec (see nodes/PROVENANCE.md)
BUILT = Path(__file__).with_name("nodes")


def node_files() -> list[Path]:
    files = sorted(NODES.glob("*.json"))
    assert files, f"no Matter fixture nodes in {NODES}"
    return files


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((NODES / name).read_text())
    return data


def load_built(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUILT / name).read_text())
    return data
