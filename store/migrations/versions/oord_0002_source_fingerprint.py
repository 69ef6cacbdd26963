"""Oord: a failed batch or bundle remembers what its source held (source_fingerprint).

Revision ID: oord_0002
Revises: oord_0001
Create Date: 2026-12-06

The sender takes a failed batch again once its folder changed, the receiver a failed
bundle once its file was replaced. Comparing mtimes with the time the row gave up missed a
change made within one tick of the file system's coarse clock; a digest of the entries
(names, inodes, sizes, times) does not depend on that. Rows that gave up before this
revision have no digest and keep the mtime rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "oord_0002"
down_revision = "oord_0001"
branch_labels = None
depends_on = None


TABLES = ("oord_batches", "oord_bundles")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("source_fingerprint", sa.String(64)))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_fingerprint")
