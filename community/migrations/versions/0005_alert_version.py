"""Every alert row counts its changes (``version``): the console orders an action's own answer
against the live stream by it, so an older view never replaces a newer one (decision 75)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("alerts", sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:  # SQLite rebuilds the table
        batch.drop_column("version")
