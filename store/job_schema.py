"""Vocabulary of the jobs table, importable without SQLAlchemy (the CLI's fast path)."""

from __future__ import annotations

from enum import StrEnum

JOBS_TABLE = "jobs"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    """Stopped by an operator (`conveyor jobs cancel`): never run again, never requeued."""


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})

# SQLAlchemy's SQLite dialect stores DateTime as this text; raw writers must match it.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

# Message header carrying the id that ties a job to the command (or request) behind it.
CORRELATION_HEADER = "conveyor_correlation_id"
# A message with this header set records its job row only if the job found work
# (periodic scans: workers/quiet_task.py); the publish hook writes no queued row for it.
QUIET_HEADER = "conveyor_quiet"
