"""Loads the mypyc-compiled build of the per-message path, when there is a fresh one.

Installed into the venv's site-packages by ``tools/compiled/build.py`` (``make install``)
beside ``dhome_compiled.json`` (the manifest of the build) and ``dhome_compiled.pth``,
which runs :func:`install` when the interpreter starts. The compiled modules live in the
venv (``.venv/compiled/``), never in the source tree, so the sources stay what Python runs
whenever this finder stands aside:

* ``DHOME_PURE_PYTHON=1`` in the environment (the pure-Python test run of ``make test``);
* no build (no C compiler at install time: the fallback);
* a source file changed since the build — then *every* hot module loads from source:
  compiled modules of one group call each other directly, so a mix would run old code.

This module imports only the standard library: it runs before anything of ours.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MANIFEST = Path(__file__).with_name("dhome_compiled.json")
PURE_ENV = "DHOME_PURE_PYTHON"

#: why the compiled build is (not) in use: compiled | disabled | absent | stale | other-python
status = "absent"


class CompiledFinder:
    """A meta-path finder that answers only for the compiled modules, with their ``.so``."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.files.get(name)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(name, file)
        return importlib.util.spec_from_file_location(name, file, loader=loader)


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(manifest: dict[str, object]) -> str:
    """The status the manifest earns in this interpreter (before any env switch)."""
    if manifest.get("cache_tag") != sys.implementation.cache_tag:
        return "other-python"
    root = Path(str(manifest["root"]))
    sources = manifest["sources"]
    assert isinstance(sources, dict)
    for rel, digest in sources.items():
        try:
            if source_digest(root / rel) != digest:
                return "stale"
        except OSError:
            return "stale"
    return "compiled"


def install() -> None:
    global status
    if any(isinstance(f, CompiledFinder) for f in sys.meta_path):
        return  # the .pth may be seen twice (lib and lib64 of a venv)
    if not MANIFEST.exists():
        status = "absent"
        return
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    status = check(manifest)
    if status != "compiled":
        return
    if os.environ.get(PURE_ENV):
        status = "disabled"
        return
    sys.meta_path.insert(0, CompiledFinder(manifest["files"]))
