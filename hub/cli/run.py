"""``dhome run`` and ``dhome simulate``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hub.activity_log import ActivityLog
from hub.alerts.engine import AlertEngine
from hub.api.server import ApiService
from hub.bridges.platform_link import PlatformLinks
from hub.bus import Filter
from hub.cli.common import DataDirOption, console, data_dir_or_default, die, setup_logging
from hub.cli.pair import announce
from hub.config import AdapterEntry, HubConfig, load_config, parse_config
from hub.consent import ConsentService
from hub.core import Hub, Service
from hub.discovery import MdnsService
from hub.models.envelope import MessageType
from hub.outbox import Outbox
from hub.webapp import install as install_webapp
from hub.webapp.service import PairingAnnouncer

DEMO_SCENARIO = "normal_day"


def build_config(
    config: Path | None, demo: bool, port: int | None, speed: float | None
) -> tuple[HubConfig, str]:
    cfg = load_config(config) if config else parse_config({}, "<defaults>")
    source = str(config) if config else "<defaults>"
    if port is not None:
        cfg.api.port = port
    if speed is not None:
        cfg.clock.speed = speed
    if demo and not any(a.type == "virtual" for a in cfg.adapters):
        cfg.adapters.append(
            AdapterEntry(
                type="virtual",
                name="virtual",
                config={"scenario": DEMO_SCENARIO, "loop": True, "all_capabilities": True},
            )
        )
    return cfg, source


def alert_services() -> list[Service]:
    """Consent starts before the engine so its filter sees the very first alert."""
    consent = ConsentService()
    return [consent, Outbox(consent), AlertEngine(), PlatformLinks()]


def default_services(hub: Hub) -> None:
    """Attach the services every running hub has."""
    hub.add_service(ActivityLog())
    for svc in alert_services():
        hub.add_service(svc)
    if hub.config.api.enabled:
        api = ApiService(extensions=[install_webapp])
        hub.add_service(api)
        if hub.config.mdns.enabled:
            hub.add_service(MdnsService(api))  # after the API: it announces the bound port


async def serve(hub: Hub, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with hub:
        freezer = asyncio.create_task(_freeze_long_lived(hub), name="dhome-gc-freeze")
        try:
            await stop.wait()
        finally:
            freezer.cancel()
        console.print("[dim]stopping…[/]")


#: quiet time after a device change before what is alive is frozen again
_FREEZE_SETTLE = 2.0
_GC_YOUNG = 50_000
_DEVICE_CHANGES = (MessageType.DEVICE_ADDED, MessageType.DEVICE_UPDATED, MessageType.DEVICE_REMOVED)


async def _freeze_long_lived(hub: Hub) -> None:
    """Move what is alive — catalog, registry, device descriptions and their mappings,
    state — out of the cyclic collector's sight, at start and again once the device set
    has settled after a change (adapters map their devices after start). A hub process
    keeps these until the devices change; re-scanning them on every collection that
    ingestion's short-lived objects trigger was ~15 % of the hub's time under load.
    Each freeze waits until the device set has been quiet for ``_FREEZE_SETTLE``.
    (Objects freed by reference counting are freed as ever.)"""
    # Young objects die within a storage batch (its rows) or a bus turn: collect the young
    # generation after 50 000 net allocations instead of 700, so they are freed by reference
    # counting before the collector ever scans them.
    gc.set_threshold(_GC_YOUNG, *gc.get_threshold()[1:])
    changes = hub.bus.subscribe("gc-freeze", Filter.of(types=_DEVICE_CHANGES), maxsize=1)
    try:
        while True:
            # start-up is a burst of device changes too (adapters publish their devices);
            # and a collection of a big home takes a moment: not before the API answers
            with contextlib.suppress(TimeoutError):
                while True:  # until the device set has been quiet for a while
                    async with asyncio.timeout(_FREEZE_SETTLE):
                        await changes.get()
            gc.collect()
            gc.freeze()
            await changes.get()
    finally:
        changes.close()


def run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hub YAML config file.")] = None,
    data_dir: DataDirOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Add a simulated home playing the normal-day scenario.")
    ] = False,
    port: Annotated[int | None, typer.Option("--port", help="API port (default 8470).")] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Run hub time faster than real time (simulation).")
    ] = None,
) -> None:
    """Run the hub. With no config: embedded SQLite under the data dir, no adapters (add --demo)."""
    cfg, source = build_config(config, demo, port, speed)
    setup_logging(cfg.log_level)
    hub = Hub(cfg, data_dir=data_dir or cfg.data_dir or data_dir_or_default(None), config_source=source)
    default_services(hub)
    hub.add_service(PairingAnnouncer(announce))
    console.print(f"[bold]dhome[/] hub [cyan]{cfg.home.id}[/] — data in [green]{hub.storage.path}[/]")
    console.print(f"  try: [bold]dhome state dump --data-dir {hub.data_dir}[/]   (Ctrl-C stops)")
    asyncio.run(serve(hub, asyncio.Event()))


def simulate(
    scenario: Annotated[
        str, typer.Argument(help="Scenario name in examples/homes/ (e.g. kitchen_fire) or a path.")
    ],
    speed: Annotated[float, typer.Option("--speed", help="Hub seconds per real second.")] = 60.0,
    data_dir: DataDirOption = None,
) -> None:
    """Play a scenario from examples/homes/ in an in-process hub and print what happened.

    The hub clock runs SPEED times faster than real time, so a 12-hour scenario with
    --speed 3600 takes 12 seconds. Alerts the scenario expects are checked at the end.
    """
    from adapters.virtual.errors import ScenarioError
    from hub.simulate import SimulationError
    from hub.simulate import simulate as play

    setup_logging("info")
    target = data_dir_or_default(data_dir)
    try:
        result = asyncio.run(play(Path(scenario), speed=speed, data_dir=target, services=alert_services()))
    except (ScenarioError, SimulationError) as exc:
        die(str(exc))
    console.print(
        f"[bold]{escape(result.scenario.name)}[/]: {len(result.messages)} messages, "
        f"{len(result.alerts)} alert(s), hub time {result.started.isoformat()} → {result.ended.isoformat()}"
    )
    for alert in result.alerts:
        console.print(
            f"  alert {alert.kind} ({alert.severity}) room={alert.room} devices={', '.join(alert.devices)}"
        )
    missing, unexpected = result.missing_alerts(), result.unexpected_alerts()
    for exp in missing:
        console.print(f"  [red]expected alert not raised:[/] {exp.kind} room={exp.room}")
    for alert in unexpected:
        console.print(f"  [yellow]unexpected alert:[/] {alert.kind} room={alert.room}")
    if missing or unexpected:
        raise typer.Exit(1)
