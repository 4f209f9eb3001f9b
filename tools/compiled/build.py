"""Compile the per-message path with mypyc into the venv (``make install`` runs this).

``python tools/compiled/build.py [--force] [--remove] [--strict]``

The modules are listed once, in ``pyproject.toml`` (``[tool.dhome.compiled] modules``). They
are compiled as one mypyc group into ``<venv>/compiled/``; the venv's site-packages gets the
start-up finder (``dhome_compiled.py`` and a ``.pth`` that installs it) and the manifest
naming the build and the digests of the sources it was built from. Nothing is written into
the source tree.

Up to date (same sources, Python, module list and finder): nothing to do. Without a C
compiler or Python's headers, or when mypyc fails, any earlier build is removed and the
install goes on with the pure-Python modules (the message says so); the exit status is 0
then unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GROUP = "dhome_hot"  # the shared library: dhome_hot__mypyc
FINDER = "dhome_compiled"

sys.path.insert(0, str(HERE))
from dhome_compiled import check, source_digest  # noqa: E402


@dataclass(frozen=True)
class Target:
    """Where a build goes: the venv's site-packages (finder, manifest) and the build itself."""

    site: Path
    out: Path

    @property
    def manifest(self) -> Path:
        return self.site / f"{FINDER}.json"

    @property
    def hook(self) -> tuple[Path, Path]:
        return self.site / f"{FINDER}.py", self.site / f"{FINDER}.pth"


VENV = Target(Path(sysconfig.get_paths()["purelib"]), Path(sys.prefix) / "compiled")


def hot_modules() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["tool"]["dhome"]["compiled"]["modules"])


def source_of(module: str) -> str:
    return module.replace(".", "/") + ".py"


def up_to_date(target: Target, modules: list[str]) -> bool:
    finder, pth = target.hook
    if not (target.manifest.exists() and finder.exists() and pth.exists()):
        return False
    manifest = json.loads(target.manifest.read_text(encoding="utf-8"))
    return (
        sorted(manifest.get("modules", [])) == sorted(modules)
        and finder.read_bytes() == (HERE / f"{FINDER}.py").read_bytes()
        and manifest.get("root") == str(ROOT)
        and check(manifest) == "compiled"
    )


def missing_toolchain() -> str | None:
    """Why no extension can be built here (checked first: mypyc's type check alone takes ~15 s)."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h; Debian: python3-dev)"
    return None


def remove(target: Target) -> None:
    for path in (target.manifest, *target.hook):
        path.unlink(missing_ok=True)
    shutil.rmtree(target.out, ignore_errors=True)


def compile_group(modules: list[str], out: Path) -> dict[str, str]:
    """mypyc, then the C compiler; returns module name -> its built extension (absolute)."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    with tempfile.TemporaryDirectory(prefix="dhome-mypyc-") as tmp:
        exts = mypycify(
            [source_of(m) for m in modules],
            opt_level="3",
            multi_file=True,  # smaller C files: less compiler memory and time than one big file
            group_name=GROUP,
            target_dir=f"{tmp}/c",
        )
        cmd = Distribution({"name": "dhome-compiled", "ext_modules": exts}).get_command_obj("build_ext")
        cmd.build_lib = str(out)  # type: ignore[attr-defined]
        cmd.build_temp = f"{tmp}/obj"  # type: ignore[attr-defined]
        cmd.parallel = os.cpu_count() or 1  # type: ignore[attr-defined]
        cmd.ensure_finalized()
        cmd.run()
        return {ext.name: str(out / cmd.get_ext_filename(ext.name)) for ext in exts}  # type: ignore[attr-defined]


def build(target: Target, modules: list[str]) -> None:
    staging = target.out.with_name(target.out.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    # the digests of the sources as they were when the compile began: a file edited while
    # mypyc ran (minutes) makes the build stale, never a build of old code marked fresh
    sources = {source_of(m): source_digest(ROOT / source_of(m)) for m in modules}
    built = compile_group(modules, staging)
    remove(target)
    staging.rename(target.out)
    manifest = {
        "root": str(ROOT),
        "cache_tag": sys.implementation.cache_tag,
        "modules": modules,
        "files": {name: str(target.out / Path(file).relative_to(staging)) for name, file in built.items()},
        "sources": sources,
    }
    finder, pth = target.hook
    target.site.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / f"{FINDER}.py", finder)
    target.manifest.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    # a .pth line that starts with "import" runs at interpreter start-up (site.py)
    pth.write_text(f"import {FINDER}; {FINDER}.install()\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--remove", action="store_true", help="remove the compiled build (pure Python)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when no build could be made")
    parser.add_argument("--into", type=Path, help="build here instead of the venv (site/ and compiled/)")
    args = parser.parse_args(argv)
    target = Target(args.into / "site", args.into / "compiled") if args.into else VENV
    os.chdir(ROOT)  # mypyc names the modules by their path from here
    modules = hot_modules()
    if args.remove:
        remove(target)
        print("compiled build removed: the pure-Python modules run")
        return 0
    if not args.force and up_to_date(target, modules):
        return 0
    why = missing_toolchain()
    if why is not None:
        remove(target)
        print(f"not compiling the per-message path: {why}; the pure-Python modules run (slower)")
        return 1 if args.strict else 0
    print(f"compiling {len(modules)} modules of the per-message path with mypyc ...", flush=True)
    start = time.monotonic()
    try:
        build(target, modules)
    except (Exception, SystemExit) as exc:  # a compiler error, a mypyc error (it exits)
        remove(target)
        print(f"compiled build failed ({type(exc).__name__}: {exc}); the pure-Python modules run (slower)")
        return 1 if args.strict else 0
    print(f"compiled {len(modules)} modules in {time.monotonic() - start:.0f} s into {target.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
