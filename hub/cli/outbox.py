"""``dhome outbox``: what is queued for the platforms, what was delivered, and the dead letters
(list), and resending dead letters (retry). Works on the data directory, also while the hub
runs: a resent entry is picked up by the running hub's outbox within seconds."""

from __future__ import annotations

import getpass
import json
import sqlite3
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import DataDirOption, console, data_dir_or_default, die
from hub.consent import deliveries
from hub.core import DB_NAME
from hub.storage import read_only

app = typer.Typer(help="Deliveries to platforms: list them, resend dead letters.", no_args_is_help=True)

SubscriptionOption = Annotated[
    str | None, typer.Option("--subscription", "-s", help="Only this subscription.")
]


@app.command("list")
def list_(
    data_dir: DataDirOption = None,
    subscription: SubscriptionOption = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only this state: pending, delivered, dead or cancelled."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many (newest).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, newest first.")] = False,
) -> None:
    """Outbox entries, newest first; ``--status dead`` lists the dead letters."""
    conn = read_only(data_dir_or_default(data_dir) / DB_NAME)
    try:
        rows = deliveries.read(conn, subscription=subscription, state=status, limit=limit)
    finally:
        conn.close()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("no deliveries" + (" matching the filter" if subscription or status else ""))
        return
    table = Table(header_style="bold")
    for col in ("seq", "subscription", "message", "kind", "state", "attempts", "created", "last error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["seq"]), r["subscription"], r["message_id"], r.get("kind") or r["type"] or "", r["state"],
            str(r["attempts"]), r["created"], r["last_error"] or "",
            style="red" if r["state"] == "dead" else None,
        )  # fmt: skip
    console.print(table)


@app.command("retry")
def retry(
    message_id: Annotated[str | None, typer.Argument(help="The dead letter's message id.")] = None,
    data_dir: DataDirOption = None,
    subscription: SubscriptionOption = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead letter (of --subscription).")] = False,
) -> None:
    """Resend dead letters: one by message id, or ``--all``. Audited as ``share.requeued``."""
    if (message_id is None) == (not all_dead):
        die("name one message id, or --all")
    path = data_dir_or_default(data_dir) / DB_NAME
    if not path.exists():
        die(f"no hub database at {path}")
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        rows = [tuple(r) for r in conn.execute(*deliveries.dead_query(subscription, message_id))]
        if message_id is not None and not rows:
            die(f"{message_id} is not a dead letter" + (f" of {subscription}" if subscription else ""))
        now = datetime.now(UTC)
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in deliveries.requeue(rows, f"cli:{getpass.getuser()}", now, now):
            conn.execute(sql, params)
        conn.execute("COMMIT")
    finally:
        conn.close()
    console.print(f"{len(rows)} dead letter(s) queued again")
