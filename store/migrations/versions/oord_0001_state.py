"""Oord: the sender's batches, the receiver's bundles, the transparency log.

Revision ID: oord_0001
Revises: 0001_jobs
Create Date: 2026-11-21
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "oord_0001"
down_revision = "0001_jobs"
branch_labels = ("oord",)
depends_on = None


def _agent_state_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_retry_at_ms", sa.BigInteger()),
        sa.Column("last_exit_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("claim_token", sa.String(64)),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("lease_expires_at_ms", sa.BigInteger()),
        sa.Column("dispatch_until_ms", sa.BigInteger()),
        sa.Column("discovered_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_at_ms", sa.BigInteger()),
    ]


def upgrade() -> None:
    op.create_table(
        "oord_batches",
        sa.Column("batch_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("org_id", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("bundle_name", sa.String(200)),
        sa.Column("bundle_id", sa.String(16)),
        sa.Column("merkle_root", sa.String(80)),
        *_agent_state_columns(),
        sa.PrimaryKeyConstraint("batch_id", name="pk_oord_batches"),
    )
    op.create_index("ix_oord_batches_state_next_retry", "oord_batches",
                    ["state", "next_retry_at_ms"])
    op.create_table(
        "oord_bundles",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("org_id", sa.String(200)),
        sa.Column("batch_id", sa.String(200)),
        sa.Column("bundle_id", sa.String(16)),
        sa.Column("verified_path", sa.Text()),
        sa.Column("quarantine_path", sa.Text()),
        sa.Column("checks", sa.JSON()),
        *_agent_state_columns(),
        sa.PrimaryKeyConstraint("name", name="pk_oord_bundles"),
    )
    op.create_index("ix_oord_bundles_state_next_retry", "oord_bundles",
                    ["state", "next_retry_at_ms"])
    op.create_table(
        "oord_tl_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("merkle_root", sa.String(80), nullable=False),
        sa.Column("t_log_ms", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("signer_key_id", sa.String(200), nullable=False),
        sa.Column("sth_sig", sa.String(100), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("tree_root", sa.String(64), nullable=False),
        sa.Column("tree_head_sig", sa.String(100), nullable=False),
        sa.Column("inclusion_path", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_oord_tl_entries"),
        sa.UniqueConstraint("merkle_root", name="uq_oord_tl_entries_merkle_root"),
    )


def downgrade() -> None:
    op.drop_table("oord_tl_entries")
    op.drop_table("oord_bundles")
    op.drop_table("oord_batches")
