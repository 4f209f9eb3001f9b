"""``dhome audit``: what left the home, what was refused, and who granted what (read-only,
safe while the hub runs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import DataDirOption, console, data_dir_or_default
from hub.consent import audit as audit_log
from hub.core import DB_NAME
from hub.storage import read_only


def _detail(entry: dict[str, Any]) -> str:
    d = entry["detail"]
    parts = [f"{k}={v}" for k, v in d.items() if v not in (None, [], {}) and k != "fields"]
    if "fields" in d and d["fields"] is not None:
        parts.append("fields=" + ",".join(d["fields"]))
    return " ".join(parts)


def audit(  # noqa: PLR0917 - a typer command: one parameter per option
    data_dir: DataDirOption = None,
    subscription: Annotated[
        str | None, typer.Option("--subscription", "-s", help="Only this subscription.")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", "-a", help="Only this action or group, e.g. share.refused or consent."),
    ] = None,
    since: Annotated[int | None, typer.Option("--since", help="Entries after this sequence number.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many (newest).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, oldest first.")] = False,
) -> None:
    """The audit log: every consent given or withdrawn, every share and every refusal."""
    path = data_dir_or_default(data_dir) / DB_NAME
    conn = read_only(path)
    try:
        entries = audit_log.read(
            conn, since=since, limit=limit, subscription=subscription, action=action, newest_first=True
        )
    finally:
        conn.close()
    entries.reverse()
    if as_json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        console.print(
            "no audit entries" + (" matching the filter" if subscription or action or since else "")
        )
        return
    table = Table(show_lines=False, header_style="bold")
    for col in ("seq", "time", "actor", "action", "subscription", "message", "detail"):
        table.add_column(col, overflow="fold")
    for e in entries:
        style = "red" if e["action"] in ("share.refused", "share.dead_letter") else None
        table.add_row(
            str(e["seq"]), e["time"], e["actor"], e["action"], e["subscription"] or "",
            e["message_id"] or "", _detail(e), style=style,
        )  # fmt: skip
    console.print(table)
