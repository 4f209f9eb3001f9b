"""Households follow the resident's consent (spec §9.4): when it last changed, and when it was
withdrawn (no more messages are taken; address and contacts are erased)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("households", sa.Column("consent_changed_at", TZ))
    op.add_column("households", sa.Column("withdrawn_at", TZ))


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:  # SQLite rebuilds the table
        batch.drop_column("withdrawn_at")
        batch.drop_column("consent_changed_at")
