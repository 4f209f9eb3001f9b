"""One-time pairing codes: printed by ``dhome run``/``dhome pair``, exchanged for a session.

A code is 8 digits (easy to type on a phone), valid for 10 minutes, usable once, and kept only
as a SHA-256 hash. The table lives in the hub's SQLite file so ``dhome pair`` works offline
while the hub runs; it is created here on first use (the hub's migrations do not know it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from hub.api.models import Scope
from hub.storage import Storage

TTL = timedelta(minutes=10)
DIGITS = 8

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pairing_codes ("
    "hash TEXT PRIMARY KEY, scopes TEXT NOT NULL, created TEXT NOT NULL, expires TEXT NOT NULL, used TEXT)"
)


def normalise(code: str) -> str:
    """What the person typed -> the digits (spaces and dashes are only for reading)."""
    return "".join(ch for ch in code if ch.isdigit())


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(("dhome-pairing:" + code).encode()).hexdigest()


class PairingCodes:
    def __init__(self, storage: Storage, now: Callable[[], datetime]) -> None:
        self._storage = storage
        self._now = now
        self._ready = False

    async def _schema(self) -> None:
        if not self._ready:
            await self._storage.execute(_SCHEMA)
            self._ready = True

    async def issue(self, scopes: Iterable[Scope]) -> tuple[str, datetime]:
        """A new code (digits only) and when it expires."""
        await self._schema()
        scope_list = sorted(set(scopes), key=list(Scope).index)
        if not scope_list:
            raise ValueError("a pairing code needs at least one scope")
        code = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
        now = self._now()
        expires = now + TTL
        await self._storage.execute(
            "INSERT INTO pairing_codes (hash, scopes, created, expires) VALUES (?,?,?,?)",
            (_hash(code), ",".join(scope_list), now.isoformat(), expires.isoformat()),
        )
        return code, expires

    async def redeem(self, typed: str) -> list[Scope] | None:
        """The scopes of a valid, unused, unexpired code, which is used up; ``None`` otherwise."""
        await self._schema()
        code = normalise(typed)
        if len(code) != DIGITS:
            return None
        now = self._now()
        # claim the code with a marker only this call knows: the UPDATE is atomic in SQLite, so of
        # two concurrent tries (even from two processes) exactly one finds its marker afterwards
        marker = f"{now.isoformat()} {secrets.token_hex(8)}"
        await self._storage.execute(
            "UPDATE pairing_codes SET used = ? WHERE hash = ? AND used IS NULL AND expires > ?",
            (marker, _hash(code), now.isoformat()),
        )
        row = await self._storage.fetchone(
            "SELECT scopes FROM pairing_codes WHERE hash = ? AND used = ?", (_hash(code), marker)
        )
        if row is None:
            return None
        await self._storage.execute("DELETE FROM pairing_codes WHERE expires < ?", ((now - TTL).isoformat(),))
        return [Scope(s) for s in str(row[0]).split(",") if s]
