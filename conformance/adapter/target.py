"""Run the adapter target: load the plugin, read the fixture directory, run the adapter cases.

Fixture directory layout::

    adapter.yaml        # optional: {instance: NAME, config: {...}} — config for the live run
                        #   (typically the adapter's simulator, or recorded data to replay);
                        #   "{fixtures}" in a string is replaced by this directory's path
    recorded/*.json     # optional: recorded vendor data for ``map_offline`` (also .yaml)
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from adapters.sdk.discovery import AdapterLoadError, load_adapter, validate_adapter_class
from conformance.adapter.harness import CheckingContext, LoopMonitor
from conformance.outcome import Errored
from conformance.registry import cases_for
from conformance.runner import ProgressSink, RunOptions, build_report, run_cases
from dhi.catalog import Catalog, default_catalog
from dhi.models.conformance import Claims, Report, TargetKind
from dhi.validate import DocumentError, load_document

RECORDED_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class AdapterOptions:
    start_timeout: float = 30.0
    command_timeout: float = 10.0
    settle: float = 0.5
    max_stall: float = 0.25
    fuzz_examples: int = 60


@dataclass
class AdapterRun:
    """What every adapter case gets: the plugin class, fixtures, claims and the running instance."""

    name: str
    cls: type[Any] | None
    load_error: str | None
    fixtures: Path
    claims: Claims
    catalog: Catalog
    options: AdapterOptions
    work: Path
    setup: dict[str, Any] = field(default_factory=dict)
    monitor: LoopMonitor = field(default_factory=LoopMonitor)
    adapter: Any = None
    hub: CheckingContext | None = None
    start_error: str | None = None
    generation: int = 0

    @property
    def instance(self) -> str:
        return str(self.setup.get("instance") or self.name)

    def require_class(self) -> type[Any]:
        if self.cls is None:
            raise Errored(f"needs a loadable adapter class (see DHI-ADP-1.1): {self.load_error}")
        return self.cls

    def recorded(self) -> list[Path]:
        folder = self.fixtures / "recorded"
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix in RECORDED_SUFFIXES)

    def load_recorded(self, path: Path) -> Any:
        return load_document(path)

    def config(self) -> Any:
        return self.require_class().config_model.model_validate(self.setup.get("config") or {})

    async def start(self) -> tuple[Any, CheckingContext]:
        """A fresh adapter instance, started on a fresh checking context (same data dir)."""
        cls = self.require_class()
        self.generation += 1
        hub = CheckingContext(self.instance, self.catalog, self.work / "data")
        adapter = cls(self.config())
        async with self.monitor.watch("start()"), asyncio.timeout(self.options.start_timeout):
            await adapter.start(hub)
            await asyncio.sleep(self.options.settle)  # simulators publish right after start
        return adapter, hub

    async def running(self) -> tuple[Any, CheckingContext]:
        """The adapter of the live cases, started on first use."""
        if self.adapter is None and self.start_error is None:
            try:
                self.adapter, self.hub = await self.start()
            except Exception as exc:
                self.start_error = f"{type(exc).__name__}: {exc}"
        if self.start_error is not None:
            raise Errored(f"needs a running adapter (see DHI-ADP-2.1): {self.start_error}")
        assert self.hub is not None
        return self.adapter, self.hub

    async def stop(self) -> None:
        adapter, hub = self.adapter, self.hub
        self.adapter = None
        if adapter is not None:
            with contextlib.suppress(Exception):
                async with self.monitor.watch("stop()"), asyncio.timeout(self.options.start_timeout):
                    await adapter.stop()
        if hub is not None:
            await hub.cancel_tasks()


def _expand(value: Any, fixtures: str) -> Any:
    """``{fixtures}`` in any string of adapter.yaml is the fixture directory (absolute)."""
    if isinstance(value, str):
        return value.replace("{fixtures}", fixtures)
    if isinstance(value, dict):
        return {k: _expand(v, fixtures) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, fixtures) for v in value]
    return value


def _read_setup(fixtures: Path) -> dict[str, Any]:
    setup_file = fixtures / "adapter.yaml"
    if not setup_file.exists():
        return {}
    try:
        loaded = load_document(setup_file)
    except DocumentError as exc:
        raise ValueError(f"fixture directory: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{setup_file}: expected a mapping with 'config' (and optionally 'instance')")
    return dict(_expand(loaded, str(fixtures.resolve())))


def _load(adapter: str | type[Any]) -> tuple[str, type[Any] | None, str | None]:
    if isinstance(adapter, str):
        try:
            return adapter, load_adapter(adapter), None
        except AdapterLoadError as exc:
            return adapter, None, str(exc)
    name = str(getattr(adapter, "name", adapter.__name__))
    try:
        validate_adapter_class(name, adapter)
    except AdapterLoadError as exc:
        return name, None, str(exc)
    return name, adapter, None


async def run_adapter(
    adapter: str | type[Any],
    fixtures: Path,
    claims: Claims,
    *,
    options: AdapterOptions | None = None,
    run: RunOptions | None = None,
    progress: ProgressSink | None = None,
    catalog: Catalog | None = None,
) -> Report:
    started = datetime.now(UTC)
    name, cls, error = _load(adapter)
    setup = _read_setup(fixtures)
    work = Path(tempfile.mkdtemp(prefix="dhi-conformance-adapter-"))
    ctx = AdapterRun(name, cls, error, fixtures, claims, catalog or default_catalog(),
                         options or AdapterOptions(), work, setup)  # fmt: skip
    try:
        results = await run_cases(
            cases_for(TargetKind.ADAPTER),
            ctx,
            claims,
            run or RunOptions(),
            progress=progress,
            target_name=f"adapter {name}",
        )
    finally:
        await ctx.stop()
        shutil.rmtree(work, ignore_errors=True)
    target = {"kind": "adapter", "adapter": name, "fixtures": str(fixtures),
              "entry_point": isinstance(adapter, str), "config": yaml.safe_dump(setup.get("config") or {}).strip()}  # fmt: skip
    return build_report(target, claims, results, started)
