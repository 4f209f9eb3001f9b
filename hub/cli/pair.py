"""``dhome pair``: a one-time code to sign in to the web app (offline on the hub's database)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.api.auth import parse_scopes
from hub.api.models import Scope
from hub.cli.common import DataDirOption, console, data_dir_or_default
from hub.core import DB_NAME
from hub.private import private_dir
from hub.storage import Storage
from hub.webapp.pairing import TTL, PairingCodes, display
from hub.webapp.routes import wall_clock


async def issue_code(data_dir: Path, scopes: list[Scope]) -> tuple[str, datetime]:
    storage = Storage(data_dir / DB_NAME)
    await storage.open()
    try:
        return await PairingCodes(storage, wall_clock).issue(scopes)
    finally:
        await storage.close()


def announce(code: str, expires: datetime) -> None:
    """How ``dhome run`` and ``dhome pair`` show a code."""
    minutes = int(TTL.total_seconds() // 60)
    console.print(
        f"  sign in to the web app with code [bold reverse] {display(code)} [/] "
        f"(登录配对码, valid {minutes} min, once, until {expires.astimezone():%H:%M})",
        highlight=False,
    )


def pair(
    scope: Annotated[
        str,
        typer.Option(
            "--scope", "-s", help="Comma-separated scopes of the session: read, control, alerts, admin."
        ),
    ] = "admin",
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print a one-time pairing code (10 minutes, single use) to sign in to the web app."""
    scopes = parse_scopes(scope)
    target = data_dir_or_default(data_dir)
    private_dir(target)
    code, expires = asyncio.run(issue_code(target, scopes))
    if as_json:
        print(json.dumps({"code": code, "expires": expires.isoformat(), "scopes": [s.value for s in scopes]}))
        return
    announce(code, expires)
