"""The layers of DESIGN §2 are kept by import-linter (``make lint`` runs ``lint-imports``).

The contracts live in pyproject.toml. These tests prove they bite: a copy of the tree with
deliberate crossings must fail ``lint-imports``, and every hub module must sit in a layer
(a module no layer names would be checked by nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dhi", "hub", "adapters", "conformance")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # the copy comes first on the path, ahead of the editable install of this tree
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_deliberate_crossing_fails_lint_imports(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    crossings = {
        # the contract layer reaching up into the runtime
        tmp_path / "dhi" / "timefmt.py": "import hub.registry  # deliberate crossing\n",
        # core borrowing a protocol adapter instead of finding it by entry point
        tmp_path / "hub" / "outbox.py": "import adapters.virtual  # deliberate crossing\n",
    }
    for path, line in crossings.items():
        path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    result = lint_imports(tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "dhi.timefmt -> hub.registry" in out, out
    assert "hub.outbox -> adapters.virtual" in out, out
    broken = {c["name"] for c in contracts() if f"{c['name']} BROKEN" in " ".join(out.split())}
    assert len(broken) == 3, out


def test_every_hub_module_is_in_a_layer() -> None:
    (layers,) = [c for c in contracts() if c["id"] == "layers"]
    named = {m.strip() for layer in layers["layers"] for m in str(layer).replace("|", ":").split(":")}
    modules = {
        f"hub.{p.stem}" for p in (ROOT / "hub").iterdir() if p.suffix == ".py" and p.stem != "__init__"
    }
    modules |= {f"hub.{p.name}" for p in (ROOT / "hub").iterdir() if (p / "__init__.py").is_file()}
    protocols = {f"adapters.{p.name}" for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").is_file()}
    assert modules - named == set(), "add these hub modules to a layer in pyproject.toml"
    assert protocols - named == set(), "add these adapters to the protocol layer in pyproject.toml"


def test_dhi_imports_without_the_hub() -> None:
    """A vendor or a platform can use the contract alone: importing every dhi module loads no
    module of the hub, the adapters or the conformance suite (at run time, not only statically)."""
    code = (
        "import importlib, pkgutil, sys, dhi\n"
        "for m in pkgutil.walk_packages(dhi.__path__, 'dhi.'):\n"
        "    importlib.import_module(m.name)\n"
        "dhi.alertkinds.default_alert_kinds(); dhi.catalog.default_catalog()\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'hub', 'adapters', 'conformance'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
