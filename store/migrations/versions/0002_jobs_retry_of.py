"""jobs.retry_of: the job a `conveyor jobs retry` row publishes again.

Revision ID: 0002_jobs_retry_of
Revises: 0001_jobs
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_jobs_retry_of"
down_revision = "0001_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retry_of", sa.String(64)))
    op.create_index("ix_jobs_retry_of", "jobs", ["retry_of"])


def downgrade() -> None:
    op.drop_index("ix_jobs_retry_of", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("retry_of")
