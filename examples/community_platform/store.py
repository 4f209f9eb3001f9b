"""The platform's SQLite file: every message id seen (de-duplication), and the alerts of all homes.

Small and synchronous on purpose: a community desk receives a few messages a minute, and a
reader should see the whole data model on one screen. A message is recorded and applied in
one transaction, so a crash never marks a message seen without its effect.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY, home TEXT NOT NULL, type TEXT NOT NULL, received TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    home TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    message_time TEXT NOT NULL, body TEXT NOT NULL, staff TEXT, staff_at TEXT,
    PRIMARY KEY (home, id)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

ALERT_TYPES = ("org.dhi.v1.alert.raised", "org.dhi.v1.alert.updated", "org.dhi.v1.alert.cleared")


def home_of(source: str) -> str:
    """``dhome://flat-12`` or ``dhome://flat-12/<device>`` → ``flat-12``."""
    return source.removeprefix("dhome://").split("/", 1)[0] or "unknown"


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    alert: dict[str, Any] | None  # the alert as shown, when the message changed one


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def count(self, name: str, by: int = 1) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )

    def counters(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, value FROM counters").fetchall())

    def receive(self, message_id: str, event: dict[str, Any]) -> Outcome:
        """Record a verified message once; apply it when it is an alert message."""
        home = home_of(str(event.get("source", "")))
        msg_type = str(event.get("type", ""))
        now = datetime.now(UTC).isoformat()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT OR IGNORE INTO messages (message_id, home, type, received) VALUES (?,?,?,?)",
                (message_id, home, msg_type, now),
            )
            if cur.rowcount == 0:
                db.execute("ROLLBACK")
                self.count("duplicates")
                return Outcome(duplicate=True, alert=None)
            alert = event.get("data", {}).get("alert") if msg_type in ALERT_TYPES else None
            shown = None
            if isinstance(alert, dict) and "id" in alert:
                shown = self._apply(home, alert, sortable_time(event.get("time"), now))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.count("received")
        return Outcome(duplicate=False, alert=shown)

    def _apply(self, home: str, alert: dict[str, Any], message_time: str) -> dict[str, Any] | None:
        # message_time is sortable_time(): comparing the text compares the instants
        row = self._db.execute(
            "SELECT message_time FROM alerts WHERE home = ? AND id = ?", (home, alert["id"])
        ).fetchone()
        if row is not None and row[0] > message_time:
            return None  # an older message arriving late (a retry): the newer state stays
        self._db.execute(
            "INSERT INTO alerts (home, id, kind, state, message_time, body) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(home, id) DO UPDATE SET kind=excluded.kind, state=excluded.state, "
            "message_time=excluded.message_time, body=excluded.body",
            (home, alert["id"], alert.get("kind", "unknown"), alert.get("state", "active"), message_time,
             json.dumps(alert, ensure_ascii=False)),
        )  # fmt: skip
        return self.alert(home, alert["id"])

    def acknowledged(self, home: str, alert: dict[str, Any], staff: str) -> dict[str, Any] | None:
        """The hub confirmed an acknowledgement: store its view of the alert and who did it here."""
        now = datetime.now(UTC).isoformat()
        self._db.execute(
            "UPDATE alerts SET state = ?, body = ?, staff = ?, staff_at = ? WHERE home = ? AND id = ?",
            (alert.get("state", "acknowledged"), json.dumps(alert, ensure_ascii=False), staff, now, home,
             alert["id"]),
        )  # fmt: skip
        return self.alert(home, alert["id"])

    def alert(self, home: str, alert_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT home, body, staff, staff_at FROM alerts WHERE home = ? AND id = ?", (home, alert_id)
        ).fetchone()
        return _view(row) if row else None

    def alerts(self, *, open_only: bool) -> list[dict[str, Any]]:
        sql = "SELECT home, body, staff, staff_at FROM alerts"
        if open_only:
            sql += " WHERE state != 'cleared'"
        rows = self._db.execute(sql + " ORDER BY message_time DESC").fetchall()
        return [_view(r) for r in rows]

    def homes(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT home, COUNT(*), MAX(received) FROM messages GROUP BY home ORDER BY home"
        ).fetchall()
        open_counts = dict(
            self._db.execute(
                "SELECT home, COUNT(*) FROM alerts WHERE state != 'cleared' GROUP BY home"
            ).fetchall()
        )
        return [
            {"home": home, "messages": n, "open_alerts": open_counts.get(home, 0), "last_message": last}
            for home, n, last in rows
        ]


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    home, body, staff, staff_at = row
    alert: dict[str, Any] = json.loads(body)
    return {"home": home, **alert, "staff": staff, "staff_at": staff_at}


def sortable_time(value: Any, default: str) -> str:
    """An RFC 3339 time as UTC text with microseconds, so text order is time order
    ("…:20Z" sorts after "…:20.39Z" as text, though it is earlier)."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    if when.tzinfo is None:
        return default
    return when.astimezone(UTC).isoformat(timespec="microseconds")
