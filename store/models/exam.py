"""Exam session isolation: sessions, their execution environments, and the access log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime

SESSIONS_TABLE = "exam_sessions"
ENVIRONMENTS_TABLE = "exam_environments"
ACCESS_LOG_TABLE = "exam_access_log"

# Non-terminal sessions, as SQL (the partial indexes and the sweep use the same text).
ACTIVE_SQL = "state NOT IN ('terminated', 'failed')"


class ExamSession(Base):
    __tablename__ = SESSIONS_TABLE

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_transition_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    running_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deadlines kept as columns so the sweep compares columns with one timestamp:
    # portable SQL (no date arithmetic per dialect) that indexes can serve.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """running_at + duration (set on entering running)."""
    abandon_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """last_activity_at + 2 x duration (moved on every activity)."""

    __table_args__ = (
        # At most one non-terminal session per user, enforced by the database itself
        # so that it holds when two creations race.
        Index("uq_exam_sessions_active_user", "user_id", unique=True,
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
        Index("ix_exam_sessions_user_id", "user_id"),
        Index("ix_exam_sessions_expires_at", "expires_at",
              sqlite_where=text("state = 'running'"),
              postgresql_where=text("state = 'running'")),
        Index("ix_exam_sessions_abandon_at", "abandon_at",
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
    )


class ExamEnvironment(Base):
    __tablename__ = ENVIRONMENTS_TABLE

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # One environment per session: the business key that makes create idempotent.
    session_id: Mapped[str] = mapped_column(
        String(36), ForeignKey(f"{SESSIONS_TABLE}.id", ondelete="CASCADE"), unique=True)
    backend: Mapped[str] = mapped_column(String(16))
    pod_name: Mapped[str] = mapped_column(String(63))
    pod_namespace: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Backend data: the local process (pid, start ticks, folder) or the pod's uid."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    create_deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_exam_environments_status", "status"),
        # An environment's name is never shared: a second session whose id begins with
        # the same 8 hex gets the longer name (domain/exam/environments.py).
        Index("uq_exam_environments_pod", "pod_namespace", "pod_name", unique=True),
    )


class ExamAccessLog(Base):
    __tablename__ = ACCESS_LOG_TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # As given (truncated), not a foreign key: denials for unknown ids are logged too.
    session_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    """Why, for operators only (the caller never sees it)."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_exam_access_log_session_id_at", "session_id", "at"),)
