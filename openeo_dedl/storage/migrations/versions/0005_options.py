"""processing options of batch jobs and synchronous runs

Revision ID: 0005_options
Revises: 0004_log_stacktrace
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_options"
down_revision = "0004_log_stacktrace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("jobs", "sync_runs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("options", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("jobs", "sync_runs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("options")
