"""``dhome discover``: dhome hubs and devices of known types on the LAN (mDNS / DNS-SD)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from zeroconf import InterfaceChoice

from hub.cli.common import console
from hub.discovery import Found, Interfaces, browse


def discover(
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=0.1, help="Seconds to listen.")] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    interface: Annotated[
        list[str] | None,
        typer.Option("--interface", "-i", help="Only this interface address (repeatable); default: all."),
    ] = None,
) -> None:
    """List dhome hubs, Matter, Shelly and HomeKit devices announcing themselves on the network."""
    interfaces: Interfaces = list(interface) if interface else InterfaceChoice.All
    found = asyncio.run(browse(timeout, interfaces=interfaces))
    if as_json:
        print(json.dumps([f.to_json() for f in found], ensure_ascii=False))
        return
    if not found:
        console.print(f"nothing found in {timeout:g} s")
        return
    for f in found:
        console.print(_line(f), highlight=False)


def _line(f: Found) -> str:
    where = ", ".join(f.addresses) or f.server or "?"
    extra = f"  {f.api_url}  home={f.txt.get('home', '?')}" if f.api_url else ""
    adapter = f"  (adapter: {f.adapter})" if f.adapter else ""
    return f"[bold]{f.kind}[/]  {f.name}  {where}:{f.port}{extra}{adapter}"
