"""The platform's tables (SQLAlchemy 2 Core): one definition for PostgreSQL and SQLite.

Idempotency lives in the schema: ``messages.id`` (the ``webhook-id`` = CloudEvent id) is the
primary key, so a redelivered message is an insert that does nothing. Alembic migrations under
``community/migrations`` create and change these tables; ``migrate()`` runs them at start-up.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    event,
    false,
    text,
)

metadata = MetaData()

#: households enrolled with a one-time code; what the resident chose to tell the centre
households = Table(
    "households",
    metadata,
    Column("home", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", String(500), nullable=False, default=""),
    Column("contacts", JSON, nullable=False),  # [{"name", "phone", "relation"}]
    Column("consent", JSON, nullable=False),  # {"alert_kinds": [...], "fields": [...] | null}
    Column("secret", String(200), nullable=False),  # whsec_…: signs webhooks and ack polls
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True)),
    # the hub's link states the resident's consent on every poll (spec §9.4): when it changed,
    # and when it was withdrawn (then nothing more is taken from the home)
    Column("consent_changed_at", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
)

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),  # sha256 of the normalised code
    Column("label", String(200), nullable=False, default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("home", String(64)),
)

#: every message taken, by its id: the unique key that makes a redelivery a no-op
messages = Table(
    "messages",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("home", String(64), nullable=False),
    Column("type", String(100), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("home", String(64), nullable=False),
    Column("alert_id", String(128), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("hub_state", String(20), nullable=False),  # active / acknowledged / cleared, as the home says
    Column("desk", String(20), nullable=False, default="open"),  # open / acknowledged / resolved (staff)
    Column("assignee", String(64)),
    Column("acked_by", String(64)),
    Column("acked_at", DateTime(timezone=True)),
    Column("resolved_by", String(64)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("message_time", DateTime(timezone=True), nullable=False),
    Column("body", JSON, nullable=False),  # the alert as the home's consent let it out
    # one more for every stored change of the row (the home's message, a staff action, an
    # escalation): the console shows a view only if it is not older than the one it shows
    Column("version", Integer, nullable=False, default=1, server_default=text("1")),
    PrimaryKeyConstraint("home", "alert_id"),
    Index("alerts_open", "desk", "severity"),
)

#: what staff did: acknowledge / assign / resolve / note / escalate, with their words
actions = Table(
    "actions",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("home", String(64), nullable=False),
    Column("alert_id", String(128), nullable=False),
    Column("staff", String(64), nullable=False),
    Column("action", String(20), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["home", "alert_id"], ["alerts.home", "alerts.alert_id"]),
    Index("actions_by_home", "home", "seq"),
)

staff = Table(
    "staff",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),  # duty / supervisor / admin
    Column("password_hash", String(200), nullable=False),
    # a disabled account cannot sign in; it is kept, so the history still says who acted
    Column("disabled_at", DateTime(timezone=True)),
    # an initial password made by an admin is known to two people: its owner replaces it first
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
)

#: every change an admin made to the staff accounts (who, what, to whom, when)
staff_audit = Table(
    "staff_audit",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(20), nullable=False),  # created / disabled / password
    Column("username", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``postgresql+psycopg://…`` or ``sqlite:///file``; SQLite in WAL mode with a
    busy timeout, so two worker processes share one file without "database is locked"."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(conn: object, _record: object) -> None:
            cur = conn.cursor()  # type: ignore[attr-defined]
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic ``upgrade head``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
