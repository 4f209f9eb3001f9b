"""The platform's migrations and its table definitions say the same thing, on SQLite and on a
real PostgreSQL; an upgrade keeps the rows that were there (the accounts an operator made)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from community.db import MIGRATIONS, make_engine, metadata, migrate
from community.store import Store


def upgrade(engine: Engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'c.db'}"
    )
    return make_engine(url)


def test_the_migrated_schema_is_the_declared_one(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        # server defaults are compared too: a column added later must not differ from a new table
        ctx = MigrationContext.configure(conn, opts={"compare_server_default": True, "compare_type": True})
        assert compare_metadata(ctx, metadata) == []
    engine.dispose()


def test_staff_made_before_the_password_change_rule_need_not_change(engine: Engine) -> None:
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO staff (username, display_name, role, password_hash) "
                          "VALUES ('wang', '王芳', 'duty', 'x')"))  # fmt: skip
    migrate(engine)
    store = Store(engine)
    assert [s["username"] for s in store.staff_accounts()] == ["wang"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT must_change_password FROM staff")).scalar_one() in (False, 0)
    engine.dispose()
