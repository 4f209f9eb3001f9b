"""Where the DHI v1 spec data lives: the source tree, or the copy shipped in the wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def spec_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "spec" / "interface", here / "_spec" / "interface"):
        if (candidate / "catalog").is_dir():
            return candidate
    raise FileNotFoundError("DHI spec data not found (expected spec/interface next to the dhi package)")


def schema_path(name: str) -> Path:
    return spec_dir() / "schemas" / f"{name}.schema.json"
