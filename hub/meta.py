"""Small documents the hub keeps in SQLite's ``meta`` table, read and written by core so no face
holds SQL: today the resident's settings (``hub/api/settings.py`` owns their meaning)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from dhi.models.envelope import WIRE_FORMAT
from hub.consent.audit import INSERT as AUDIT_INSERT
from hub.storage import Storage

UPSERT = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
EVENTS_FORMAT = "events-wire-format"


async def read(storage: Storage, key: str) -> str | None:
    row = await storage.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def write_audited(
    storage: Storage, key: str, value: str, *, time: datetime, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Save ``value`` and its audit entry in one transaction: a change nobody can trace never lands."""
    audit_row = (time.isoformat(), actor, action, None, None, orjson.dumps(detail).decode())
    await storage.transaction([(UPSERT, (key, value)), (AUDIT_INSERT, audit_row)])


async def events_as_stored_from(storage: Storage, next_seq: int) -> int:
    """The first seq of the event log whose rows are this version's wire JSON (``WIRE_FORMAT``),
    which readers may serve as stored; rows before it, written by an earlier version, go through
    the envelope model. Recorded the first time this format runs on the database (``next_seq``:
    the seq the next message will get)."""
    value = await read(storage, EVENTS_FORMAT)
    if value is not None:
        recorded = orjson.loads(value)
        if isinstance(recorded, list) and len(recorded) == 2 and recorded[0] == WIRE_FORMAT:
            return int(recorded[1])
    await storage.execute(UPSERT, (EVENTS_FORMAT, orjson.dumps([WIRE_FORMAT, next_seq]).decode()))
    return next_seq
