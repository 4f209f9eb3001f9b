"""Which build of the per-message path runs (tools/compiled): ``make test`` runs the whole suite
on the mypyc-compiled modules and the fast tests of their packages again on the pure-Python
ones (``DHOME_PURE_PYTHON=1``); each run proves here which one it loaded. The fallback when
no C compiler exists is checked too (the install goes on, pure Python)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tools" / "compiled" / "build.py"
MODULES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dhome"][
    "compiled"
]["modules"]

sys.path.insert(0, str(BUILD.parent))
# the copy the venv's .pth installed at start-up if there is one (the same file), else the source
import dhome_compiled  # noqa: E402 - tools/compiled is not a package


def _files() -> dict[str, str]:
    return {name: str(importlib.import_module(name).__file__) for name in MODULES}


def test_the_run_loads_the_build_it_asks_for() -> None:
    files = _files()
    if os.environ.get(dhome_compiled.PURE_ENV):
        assert all(f.endswith(".py") for f in files.values()), files
        return
    if dhome_compiled.status != "compiled" and os.environ.get("CI") != "true":
        pytest.skip(f"no fresh compiled build here ({dhome_compiled.status}): `make install` builds it")
    assert dhome_compiled.status == "compiled", (
        f"compiled build {dhome_compiled.status}: `make install` must build it on CI"
    )
    assert all(f.endswith(".so") for f in files.values()), files


def _manifest(tmp_path: Path, digest: str, tag: str = sys.implementation.cache_tag) -> dict[str, object]:
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    return {"root": str(tmp_path), "cache_tag": tag, "sources": {"m.py": digest}}


def test_a_changed_source_or_another_python_means_pure_python(tmp_path: Path) -> None:
    assert dhome_compiled.check(_manifest(tmp_path, "0" * 64)) == "stale"
    fresh = dhome_compiled.source_digest(tmp_path / "m.py")
    assert dhome_compiled.check(_manifest(tmp_path, fresh)) == "compiled"
    assert dhome_compiled.check(_manifest(tmp_path, fresh, tag="cpython-99")) == "other-python"


def test_no_c_compiler_installs_pure_python(tmp_path: Path) -> None:
    env = {**os.environ, "CC": str(tmp_path / "no-such-cc")}
    done = subprocess.run(
        [sys.executable, str(BUILD), "--into", str(tmp_path), "--strict"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "no C compiler" in done.stdout, done.stdout + done.stderr
    relaxed = subprocess.run(
        [sys.executable, str(BUILD), "--into", str(tmp_path)], env=env, capture_output=True
    )
    assert relaxed.returncode == 0  # what `make install` runs: it goes on
    assert not (tmp_path / "site" / "dhome_compiled.pth").exists()
    assert not (tmp_path / "compiled").exists()
