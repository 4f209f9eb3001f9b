"""A hub with the virtual demo home and the Home Assistant bridge, for the bridge's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hub.bridges.home_assistant import HomeAssistantExport
from hub.cli.run import default_services
from hub.config import parse_config
from hub.core import Hub

HOME = "chen"


@asynccontextmanager
async def running(
    tmp_path: Path,
    block: dict[str, Any],
    *,
    virtual: dict[str, Any] | None = None,
    more: list[dict[str, Any]] | None = None,
    classes: dict[str, type[Any]] | None = None,
) -> AsyncIterator[tuple[Hub, HomeAssistantExport]]:
    """The hub as ``dhome run`` assembles it (API off), its bridge connected and synced;
    ``more`` adapter entries (``classes``: stand-ins for adapter types by name)."""
    cfg = parse_config(
        {
            "home": {"id": HOME, "name": "Chen"},
            "api": {"enabled": False},
            "mdns": {"enabled": False},
            "adapters": [{"type": "virtual", "config": virtual or {"home": "demo"}}, *(more or [])],
            "bridges": {"home_assistant": block},
        },
        "<test>",
    )
    hub = Hub(cfg, data_dir=tmp_path / "hub", adapter_classes=classes)
    default_services(hub)
    bridge = next(s for s in hub.services if isinstance(s, HomeAssistantExport))
    async with hub:
        await bridge.ready()
        yield hub, bridge
