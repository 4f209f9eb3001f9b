"""``dhome token``: API tokens, managed offline on the hub's database (safe while the hub runs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape

from hub.api.auth import TokenStore, parse_scopes
from hub.api.models import TokenInfo
from hub.cli.common import DataDirOption, console, data_dir_or_default
from hub.clock import Clock
from hub.core import DB_NAME
from hub.storage import Storage

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _with_store[T](data_dir: Path | None, fn: Callable[[TokenStore], Awaitable[T]]) -> T:
    async def run() -> T:
        storage = Storage(data_dir_or_default(data_dir) / DB_NAME)
        await storage.open()
        try:
            return await fn(TokenStore(storage, Clock().now))
        finally:
            await storage.close()

    return asyncio.run(run())


@app.command("create")
def create(
    scope: Annotated[
        str, typer.Option("--scope", "-s", help="Comma-separated scopes: read, control, alerts, admin.")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="What the token is for.")] = "cli",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token. Its secret is printed once and stored only as a SHA-256 hash."""
    scopes = parse_scopes(scope)
    info, secret = _with_store(data_dir, lambda store: store.create(name, scopes))
    if as_json:
        print(json.dumps(info.model_dump(mode="json") | {"token": secret}))
        return
    console.print(f"token [cyan]{info.id}[/] ({escape(info.name)}), scopes: {', '.join(info.scopes)}")
    console.print("[yellow]store it now: it is not shown again[/]")
    print(secret)


@app.command("list")
def list_tokens(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Tokens (never their secrets)."""
    tokens: list[TokenInfo] = _with_store(data_dir, lambda store: store.list())
    if as_json:
        print(json.dumps([t.model_dump(mode="json") for t in tokens]))
        return
    if not tokens:
        console.print("no tokens (create one: dhome token create --scope read)")
    for t in tokens:
        state = f"[red]revoked {t.revoked:%Y-%m-%d %H:%M}[/]" if t.revoked else "[green]active[/]"
        used = f"last used {t.last_used:%Y-%m-%d %H:%M}" if t.last_used else "never used"
        scopes = escape(f"[{', '.join(t.scopes)}]")
        console.print(f"{t.id}  {escape(t.name)}  {scopes}  {state}  {used}", highlight=False)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (see dhome token list).")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token; it stops working at once."""
    info = _with_store(data_dir, lambda store: store.revoke(token_id))
    console.print(f"revoked {info.id} ({escape(info.name)})")
