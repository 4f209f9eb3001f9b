"""``dhome run`` and ``dhome simulate``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from dhi.models.envelope import MessageType
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
from hub.delivery import bridge_services
from hub.discovery import MdnsService
from hub.outbox import Outbox
from hub.webapp import install as install_webapp
from hub.webapp.service import PairingAnnouncer

if TYPE_CHECKING:
    from hub.cli.simulate import SimulationResult

DEMO_SCENARIO = "normal_day"


def build_config(
    config: Path | None, demo: bool, port: int | None, speed: float | None, *, drill: bool = False
) -> tuple[HubConfig, str]:
    cfg = load_config(config) if config else parse_config({}, "<defaults>")
    source = str(config) if config else "<defaults>"
    if drill:
        cfg.drill = True
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
    for svc in bridge_services(hub):  # after consent: they share through it
        hub.add_service(svc)
    if hub.config.api.enabled:
        api = ApiService(extensions=[install_webapp])
        hub.add_service(api)
        if hub.config.mdns.enabled:
            hub.add_service(MdnsService(api))  # after the API: it announces the bound port


#: How long a thread holding the GIL runs before one waiting for it gets it (seconds; Python's
#: default is 0.005). The safety path crosses threads several times — the SQLite thread's
#: commit of an alert and its outbox rows, then the outbox's read of its entry — and with the
#: event loop busy on bulk telemetry each hand-over of the GIL waited up to a whole interval
#: (docs/ingestion.md "safety work first").
SWITCH_INTERVAL = 0.0005


async def serve(hub: Hub, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        async with hub:
            freezer = asyncio.create_task(_freeze_long_lived(hub), name="dhome-gc-freeze")
            try:
                await stop.wait()
            finally:
                freezer.cancel()
            console.print("[dim]stopping…[/]")
    finally:
        sys.setswitchinterval(previous)


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


def run(  # noqa: PLR0917 - a typer command: one parameter per option
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hub YAML config file.")] = None,
    data_dir: DataDirOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Add a simulated home playing the normal-day scenario.")
    ] = False,
    port: Annotated[int | None, typer.Option("--port", help="API port (default 8470).")] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Run hub time faster than real time (simulation).")
    ] = None,
    drill: Annotated[
        bool,
        typer.Option(
            "--drill",
            help="Run as a drill (演练): every alert, message and audit row is marked as an exercise "
            "(CAP status Exercise), as the config's 'drill: true' does.",
        ),
    ] = False,
) -> None:
    """Run the hub. With no config: embedded SQLite under the data dir, no adapters (add --demo)."""
    cfg, source = build_config(config, demo, port, speed, drill=drill)
    setup_logging(cfg.log_level)
    hub = Hub(cfg, data_dir=data_dir or cfg.data_dir or data_dir_or_default(None), config_source=source)
    default_services(hub)
    hub.add_service(PairingAnnouncer(announce))
    console.print(f"[bold]dhome[/] hub [cyan]{cfg.home.id}[/] — data in [green]{hub.storage.path}[/]")
    if cfg.drill:
        console.print(
            "  [bold yellow]演练 / DRILL[/]: alerts and shares are marked as an exercise, not an emergency"
        )
    console.print(f"  try: [bold]dhome state dump --data-dir {hub.data_dir}[/]   (Ctrl-C stops)")
    asyncio.run(serve(hub, asyncio.Event()))


#: real seconds a drill with a test configuration waits for its outbox to deliver
DELIVERY_WAIT = 30.0


def simulate(
    scenario: Annotated[
        str, typer.Argument(help="Scenario name in examples/homes/ (e.g. kitchen_fire) or a path.")
    ],
    speed: Annotated[float, typer.Option("--speed", help="Hub seconds per real second.")] = 60.0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Run in this directory and keep it; refused when it is a hub's data directory "
            "(default: a fresh temporary directory, removed afterwards).",
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary data directory (for dhome audit / state dump).")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="A test hub config: its subscriptions receive the drill (marked as an exercise). "
            "Without it nothing leaves the simulation.",
        ),
    ] = None,
) -> None:
    """Play a scenario from examples/homes/ as a drill in its own in-process hub and print what happened.

    The hub clock runs SPEED times faster than real time, so a 12-hour scenario with
    --speed 3600 takes 12 seconds. Alerts the scenario expects are checked at the end.
    The hub never uses a real hub's data directory and, unless --config names a test
    configuration, loads no subscription and starts no bridge. To feed a scenario into a
    running hub, set the virtual adapter's 'scenario:' in that hub's config instead.
    """
    from adapters.virtual.errors import ScenarioError
    from hub.cli.sandbox import simulation_dir
    from hub.cli.simulate import SimulationError
    from hub.cli.simulate import simulate as play

    setup_logging("info")
    test_config = load_config(config) if config else None
    with simulation_dir(data_dir, keep=keep) as target:
        services, before_stop = _drill_services(test_config)
        try:
            result = asyncio.run(
                play(
                    Path(scenario), speed=speed, data_dir=target, config=test_config, services=services,
                    before_stop=before_stop,
                )
            )  # fmt: skip
        except (ScenarioError, SimulationError) as exc:
            die(str(exc))
        _report(result)
        if data_dir is not None or keep:
            console.print(f"drill data kept in [green]{target}[/]: [bold]dhome audit --data-dir {target}[/]")
    missing, unexpected = result.missing_alerts(), result.unexpected_alerts()
    if missing or unexpected:
        raise typer.Exit(1)


def _drill_services(
    config: HubConfig | None,
) -> tuple[list[Service], Callable[[Hub], Awaitable[None]] | None]:
    """Without a test config: the alert engine and a consent filter with no subscription (its
    audit shows what was withheld). With one: its subscriptions and the outbox, which is given
    time to deliver before the hub stops."""
    if config is None:
        return [ConsentService(), AlertEngine()], None
    consent = ConsentService()
    outbox = Outbox(consent)

    async def deliver(hub: Hub) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DELIVERY_WAIT):
                while True:
                    await hub.storage.flush()
                    depth = await outbox.depth()
                    if not any(states.get("pending") for states in depth.values()):
                        return
                    await asyncio.sleep(0.05)
        console.print(f"[yellow]some drill messages were not delivered within {DELIVERY_WAIT:.0f} s[/]")

    return [consent, outbox, AlertEngine()], deliver


def _report(result: SimulationResult) -> None:
    console.print(
        f"[bold]{escape(result.scenario.name)}[/] [yellow](演练 / drill)[/]: {len(result.messages)} messages, "
        f"{len(result.alerts)} alert(s), hub time {result.started.isoformat()} → {result.ended.isoformat()}"
    )
    for alert in result.alerts:
        console.print(
            f"  alert {alert.kind} ({alert.severity}) room={alert.room} devices={', '.join(alert.devices)}"
        )
    for exp in result.missing_alerts():
        console.print(f"  [red]expected alert not raised:[/] {exp.kind} room={exp.room}")
    for alert in result.unexpected_alerts():
        console.print(f"  [yellow]unexpected alert:[/] {alert.kind} room={alert.room}")
