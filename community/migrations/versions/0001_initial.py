"""The first schema: households, enrolment codes, messages, alerts, actions, staff, sessions.

Written out (not generated at run time) so a deployment's schema is exactly what this file says.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TZ = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("home", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        sa.Column("consent", sa.JSON, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("enrolled_at", TZ, nullable=False),
        sa.Column("last_seen", TZ),
    )
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("home", sa.String(64)),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("hub_state", sa.String(20), nullable=False),
        sa.Column("desk", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("acked_at", TZ),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolved_at", TZ),
        sa.Column("escalated_at", TZ),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("message_time", TZ, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("home", "alert_id"),
    )
    op.create_index("alerts_open", "alerts", ["desk", "severity"])
    op.create_table(
        "actions",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=False),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["home", "alert_id"], ["alerts.home", "alerts.alert_id"]),
    )
    op.create_index("actions_by_home", "actions", ["home", "seq"])
    op.create_table(
        "staff",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for name in ("sessions", "staff", "actions", "alerts", "messages", "enrolment_codes", "households"):
        op.drop_table(name)
