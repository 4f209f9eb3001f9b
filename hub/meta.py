"""Small documents the hub keeps in SQLite's ``meta`` table, read and written by core so no face
holds SQL: today the resident's settings (``hub/api/settings.py`` owns their meaning)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hub.consent.audit import INSERT as AUDIT_INSERT
from hub.storage import Storage

UPSERT = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


async def read(storage: Storage, key: str) -> str | None:
    row = await storage.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def write_audited(
    storage: Storage, key: str, value: str, *, time: datetime, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Save ``value`` and its audit entry in one transaction: a change nobody can trace never lands."""
    audit_row = (time.isoformat(), actor, action, None, None, orjson.dumps(detail).decode())
    await storage.transaction([(UPSERT, (key, value)), (AUDIT_INSERT, audit_row)])
