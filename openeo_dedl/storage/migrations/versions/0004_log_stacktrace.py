"""job log entries carry a stacktrace (openEO API 1.3 log entries)

Revision ID: 0004_log_stacktrace
Revises: 0003_workers
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_log_stacktrace"
down_revision = "0003_workers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_logs") as batch:
        batch.add_column(sa.Column("stacktrace", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_logs") as batch:
        batch.drop_column("stacktrace")
