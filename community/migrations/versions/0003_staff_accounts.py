"""Staff accounts managed from the console by an admin: an account can be disabled (kept for the
history), and every change to the accounts is audited."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TZ = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("staff", sa.Column("disabled_at", TZ))
    op.create_table(
        "staff_audit",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_audit")
    with op.batch_alter_table("staff") as batch:  # SQLite rebuilds the table
        batch.drop_column("disabled_at")
