"""Synora's registry and audit tables.

Revision ID: 0001_synora
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision = "0001_synora"
down_revision = None
branch_labels = ("synora",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "software",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("install_path", sa.Text(), nullable=False),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("quarantine_operation_id", sa.String(36)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_software"),
        sa.UniqueConstraint("name", "source", name="uq_software_name_source"),
    )
    op.create_table(
        "update_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(36), nullable=False),
        sa.Column("software_id", sa.String(128), nullable=False),
        sa.Column("old_version", sa.String(64)),
        sa.Column("new_version", sa.String(64)),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("details", sa.JSON()),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_update_history"),
    )
    op.create_index("ix_update_history_operation_id", "update_history", ["operation_id"])
    op.create_index("ix_update_history_software_id", "update_history", ["software_id"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(36), nullable=False),
        sa.Column("software_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("relative_path", sa.Text(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("original_location", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_operation_id", "quarantine", ["operation_id"])
    op.create_table(
        "registry_backup",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(36), nullable=False),
        sa.Column("software_id", sa.String(128), nullable=False),
        sa.Column("hive", sa.String(32), nullable=False),
        sa.Column("key_path", sa.Text(), nullable=False),
        sa.Column("backup_blob", sa.Text(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_backup"),
    )
    op.create_index("ix_registry_backup_operation_id", "registry_backup", ["operation_id"])


def downgrade() -> None:
    op.drop_table("registry_backup")
    op.drop_table("quarantine")
    op.drop_table("update_history")
    op.drop_table("software")
