"""The platform's storage on both databases it supports: each test using ``store`` runs on a
SQLite file and on a real PostgreSQL database (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from community.db import make_engine, migrate
from community.store import Store


class Clock:
    """The store's clock, moved by hand (escalation, expiry and retention without waiting)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'community.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Store]:
    engine = make_engine(database_url)
    migrate(engine)
    yield Store(engine, now=clock)
    engine.dispose()


def alert_event(
    home: str, alert_id: str, kind: str = "smoke", *, msg: str | None = None, state: str = "active",
    time: str = "2026-01-15T08:00:00Z", severity: str = "Extreme", **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    types = {"active": "raised", "acknowledged": "updated", "cleared": "cleared"}
    return {
        "specversion": "1.0",
        "id": msg or f"{alert_id}.{state}.{time}",
        "source": f"dhome://{home}",
        "type": f"org.dhi.v1.alert.{types[state]}",
        "time": time,
        "data": {"alert": {"id": alert_id, "kind": kind, "severity": severity, "state": state, "home": home,
                           "first_seen": "2026-01-15T08:00:00Z", "last_seen": time, **extra}},
    }  # fmt: skip


def enrol(store: Store, home: str, kinds: list[str] | None = None) -> str:
    code = store.create_code(home, "test", timedelta(days=1))
    household = {
        "name": f"{home} 陈阿姨",
        "address": "3号楼 501",
        "contacts": [{"name": "陈明", "phone": "13800000000"}],
    }
    return store.redeem(
        code, home, household, {"alert_kinds": kinds or ["smoke", "fall", "sos"], "fields": None}
    )
