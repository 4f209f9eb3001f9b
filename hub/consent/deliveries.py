"""Reading outbox entries and resending dead letters: the SQL shared by the hub (API, outbox)
and the offline ``dhome outbox`` commands, so both list and requeue the same way."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from dhi.errors import BadRequest
from hub.consent import audit
from hub.consent.audit import AuditAction
from hub.storage import Statement

STATES = ("pending", "delivered", "dead", "cancelled")
COLUMNS = (
    "seq", "subscription", "message_id", "payload", "state", "attempts", "next_attempt",
    "last_error", "created", "delivered",
)  # fmt: skip


def check_state(state: str | None) -> None:
    if state is not None and state not in STATES:
        raise BadRequest(f"unknown delivery state {state!r}", field="status", expected=", ".join(STATES))


def select(
    *,
    subscription: str | None = None,
    state: str | None = None,
    message_id: str | None = None,
    limit: int = 100,
) -> tuple[str, list[Any]]:
    """Newest first; every filter optional."""
    check_state(state)
    where = ["1=1"]
    params: list[Any] = []
    for column, value in (("subscription", subscription), ("state", state), ("message_id", message_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {', '.join(COLUMNS)} FROM outbox WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"  # noqa: S608 - fixed column names
    return sql, [*params, limit]


def row_to_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(COLUMNS, row, strict=True))
    body = json.loads(out.pop("payload"))
    out["type"] = body.get("type")
    alert = body.get("data", {}).get("alert") if isinstance(body.get("data"), dict) else None
    if isinstance(alert, dict):
        out["alert"] = alert.get("id")
        out["kind"] = alert.get("kind")
    if out["state"] != "pending":
        out["next_attempt"] = None
    return out


def requeue(
    rows: list[tuple[int, str, str]], actor: str, now_hub: datetime, now_real: datetime
) -> list[Statement]:
    """Dead letters ``(seq, subscription, message_id)`` get a new round of attempts, now."""
    out: list[Statement] = []
    for seq, sub_id, message_id in rows:
        out += [
            (
                "UPDATE outbox SET state = 'pending', attempts = 0, first_failed = NULL, next_attempt = ? "
                "WHERE seq = ? AND state = 'dead'",
                (now_real.isoformat(), seq),
            ),
            audit.entry(
                now_hub, actor, AuditAction.SHARE_REQUEUED, subscription=sub_id, message_id=message_id
            ),
        ]
    return out


DEAD = "SELECT seq, subscription, message_id FROM outbox WHERE state = 'dead'"


def dead_query(subscription: str | None, message_id: str | None) -> tuple[str, list[Any]]:
    sql, params = DEAD, []
    if subscription is not None:
        sql += " AND subscription = ?"
        params.append(subscription)
    if message_id is not None:
        sql += " AND message_id = ?"
        params.append(message_id)
    return sql + " ORDER BY seq", params


def read(conn: sqlite3.Connection, **kwargs: Any) -> list[dict[str, Any]]:
    sql, params = select(**kwargs)
    return [row_to_dict(r) for r in conn.execute(sql, params)]
