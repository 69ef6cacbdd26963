"""Exam session isolation: sessions, environments, access log.

Revision ID: exam_0001
Revises: 0001_jobs
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision = "exam_0001"
down_revision = "0001_jobs"
branch_labels = ("exam",)
depends_on = None

ACTIVE = "state NOT IN ('terminated', 'failed')"


def upgrade() -> None:
    op.create_table(
        "exam_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_transition_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("ready_at", UTCDateTime()),
        sa.Column("running_at", UTCDateTime()),
        sa.Column("terminated_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("abandon_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exam_sessions"),
    )
    op.create_index("uq_exam_sessions_active_user", "exam_sessions", ["user_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    op.create_index("ix_exam_sessions_user_id", "exam_sessions", ["user_id"])
    op.create_index("ix_exam_sessions_expires_at", "exam_sessions", ["expires_at"],
                    sqlite_where=sa.text("state = 'running'"),
                    postgresql_where=sa.text("state = 'running'"))
    op.create_index("ix_exam_sessions_abandon_at", "exam_sessions", ["abandon_at"],
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))

    op.create_table(
        "exam_environments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("pod_name", sa.String(63), nullable=False),
        sa.Column("pod_namespace", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("handle", sa.JSON()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("create_deadline_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ready_at", UTCDateTime()),
        sa.Column("destroyed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_exam_environments"),
        sa.ForeignKeyConstraint(["session_id"], ["exam_sessions.id"], ondelete="CASCADE",
                                name="fk_exam_environments_session_id_exam_sessions"),
        sa.UniqueConstraint("session_id", name="uq_exam_environments_session_id"),
    )
    op.create_index("ix_exam_environments_status", "exam_environments", ["status"])

    op.create_table(
        "exam_access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exam_access_log"),
    )
    op.create_index("ix_exam_access_log_session_id_at", "exam_access_log", ["session_id", "at"])


def downgrade() -> None:
    op.drop_table("exam_access_log")
    op.drop_table("exam_environments")
    op.drop_table("exam_sessions")
