"""An account made by an admin must replace its initial password at the first sign-in (the
admin saw it); accounts made with the CLI chose their own and need not."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column(
        "staff", sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:  # SQLite rebuilds the table
        batch.drop_column("must_change_password")
