"""The jobs table: one row per Celery task id, outliving Celery's result expiry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.job_schema import JOBS_TABLE
from store.models.base import Base, UTCDateTime


class Job(Base):
    __tablename__ = JOBS_TABLE

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Celery task id
    kind: Mapped[str] = mapped_column(String(200))  # the task name
    queue: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"args": [...], "kwargs": {...}}
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_exit_code: Mapped[int | None] = mapped_column(Integer)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSON)
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A row `conveyor jobs retry` published: the id of the job it runs again.
    retry_of: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_jobs_status_created_at", "status", "created_at"),
        Index("ix_jobs_kind_created_at", "kind", "created_at"),
        Index("ix_jobs_correlation_id", "correlation_id"),
        Index("ix_jobs_retry_of", "retry_of"),
    )
