"""The audit log: every grant, every share and every refusal, in the hub's SQLite ``audit``
table (append-only). ``dhome audit`` and ``GET /api/v1/subscriptions/audit`` read it."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from dhi.models.command import CommandRequest, CommandResult, CommandStatus
from hub.storage import Statement


class AuditAction(StrEnum):
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_WITHDRAWN = "subscription.withdrawn"
    #: the receiver answered 410 Gone: nothing is sent until the resident confirms it again
    SUBSCRIPTION_DISABLED = "subscription.disabled"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    #: passed the consent filter and queued in the outbox (detail: the fields shared)
    SHARE_QUEUED = "share.queued"
    #: left the home: the receiver acknowledged it
    SHARE_DELIVERED = "share.delivered"
    #: a subscription covers the message but consent does not allow it (detail: why)
    SHARE_REFUSED = "share.refused"
    #: an alert no subscription covers: it stays in the home
    SHARE_WITHHELD = "share.withheld"
    #: queued but not sent, because consent ended before delivery
    SHARE_CANCELLED = "share.cancelled"
    SHARE_DEAD_LETTER = "share.dead_letter"
    SHARE_REQUEUED = "share.requeued"
    #: a command a sharing partner sent into the home (a bridge's subscription) ran: detail
    #: what (device, component, capability, command, params) and the result
    COMMAND_EXECUTED = "command.executed"
    #: the same, but the hub or the device answered with an error (detail: its code and message)
    COMMAND_FAILED = "command.failed"
    #: the partner may not operate this (read-only: the resident did not enable control)
    COMMAND_REFUSED = "command.refused"


INSERT = "INSERT INTO audit (time, actor, action, subscription, message_id, detail) VALUES (?,?,?,?,?,?)"


def entry(
    time: datetime,
    actor: str,
    action: AuditAction,
    *,
    subscription: str | None = None,
    message_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Statement:
    return (
        INSERT,
        (
            time.isoformat(),
            actor,
            action.value,
            subscription,
            message_id,
            orjson.dumps(detail or {}).decode(),
        ),
    )


#: command parameters that are secrets (a lock's PIN): the audit row says one was given, never which
SECRET_PARAMS = frozenset({"pin_code"})
REDACTED = "***"


def command_entry(
    time: datetime,
    actor: str,
    cmd: CommandRequest,
    result: CommandResult | None,
    *,
    subscription: str | None,
    refused: str | None = None,
) -> Statement:
    """The audit row of a command from outside the home: who (``actor``, ``subscription``), what
    (device, component, capability, command, parameters without secrets) and how it ended."""
    detail: dict[str, Any] = {
        "device": cmd.device,
        "component": cmd.component,
        "capability": cmd.capability,
        "command": cmd.command,
        "params": {k: REDACTED if k in SECRET_PARAMS else v for k, v in cmd.params.items()},
    }
    if refused is not None:
        action = AuditAction.COMMAND_REFUSED
        detail["reason"] = refused
    elif result is not None and result.status is CommandStatus.OK:
        action = AuditAction.COMMAND_EXECUTED
    else:
        action = AuditAction.COMMAND_FAILED
        if result is not None and result.error is not None:
            detail["error"] = {"code": result.error.code, "message": result.error.message}
    return entry(time, actor, action, subscription=subscription, message_id=cmd.id, detail=detail)


COLUMNS = ("seq", "time", "actor", "action", "subscription", "message_id", "detail")


def row_to_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(COLUMNS, row, strict=True))
    out["detail"] = json.loads(out["detail"]) if out["detail"] else {}
    return out


def select(
    *,
    since: int | None = None,
    limit: int = 100,
    subscription: str | None = None,
    action: str | None = None,
    newest_first: bool = False,
) -> tuple[str, list[Any]]:
    """The SQL to read the log (shared by the service and the offline CLI)."""
    where: list[str] = ["1=1"]
    params: list[Any] = []
    if since is not None:
        where.append("seq > ?")
        params.append(since)
    if subscription is not None:
        where.append("subscription = ?")
        params.append(subscription)
    if action is not None:
        where.append("(action = ? OR action LIKE ?)")
        params += [action, action.rstrip(".*") + ".%"]
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"  # noqa: S608 - fixed column names
    params.append(limit)
    return sql, params


def read(conn: sqlite3.Connection, **kwargs: Any) -> list[dict[str, Any]]:
    sql, params = select(**kwargs)
    return [row_to_dict(r) for r in conn.execute(sql, params)]
