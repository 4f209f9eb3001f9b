"""``dhome run`` and ``dhome simulate``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from hub.activity_log import ActivityLog
from hub.cli.common import DataDirOption, console, data_dir_or_default, setup_logging
from hub.config import AdapterEntry, HubConfig, load_config, parse_config
from hub.core import Hub

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
            AdapterEntry(type="virtual", name="virtual", config={"scenario": DEMO_SCENARIO, "loop": True})
        )
    return cfg, source


def default_services(hub: Hub) -> None:
    """Attach the services every running hub has (API, alerts, bridges, mDNS join here)."""
    hub.add_service(ActivityLog())


async def serve(hub: Hub, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with hub:
        await stop.wait()
        console.print("[dim]stopping…[/]")


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
    """Play a scenario from examples/homes/ in an in-process hub and print what happened."""
    from hub.simulate import simulate as play

    setup_logging("info")
    target = data_dir_or_default(data_dir)
    result = asyncio.run(play(Path(scenario), speed=speed, data_dir=target))
    console.print(result)
