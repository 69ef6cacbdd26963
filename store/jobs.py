"""Reading the jobs table (writes: store/job_writes.py), and pruning it.

The CLIs' reads (get_job, list_jobs) are store/job_reads.py's, through the driver; the
sweeps' set-based queries here still build on SQLAlchemy, imported when they run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from common.clock import iso_z, utc_now
from common.errors import ContractError, JobSystemError
from store.job_reads import get_job, list_jobs
from store.job_schema import TERMINAL_STATUSES

__all__ = ["finished_result", "get_job", "list_jobs", "prune_finished",
           "unfinished_jobs_idle_since"]


def _jobs() -> Any:
    from store.models.jobs import Job

    return Job.__table__


def _as_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = iso_z(value)
    return data


def unfinished_jobs_idle_since(moment: datetime, *, limit: int = 10_000,
                               url: str | None = None) -> list[dict[str, Any]]:
    """Queued, running or retrying jobs whose row has not changed since ``moment``."""
    from sqlalchemy import select

    from store.engine import get_engine

    jobs = _jobs()
    query = (select(jobs)
             .where(jobs.c.status.not_in([s.value for s in TERMINAL_STATUSES]),
                    jobs.c.updated_at < moment)
             .order_by(jobs.c.updated_at).limit(limit))
    with get_engine(url).connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def prune_finished(*, older_than: timedelta, url: str | None = None) -> int:
    """Delete finished jobs older than the given age; returns how many."""
    from sqlalchemy import delete

    from store.engine import get_engine

    jobs = _jobs()
    cutoff = utc_now() - older_than
    stmt = delete(jobs).where(
        jobs.c.status.in_([s.value for s in TERMINAL_STATUSES]),
        jobs.c.finished_at < cutoff,
    )
    with get_engine(url).begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)


def job_canceled(job_id: str) -> JobSystemError:
    """What a waiting client, and a redelivery of the job, are told after `jobs cancel`."""
    return JobSystemError("job_canceled", f"job {job_id} was canceled", {"job_id": job_id})


def finished_result(row: dict[str, Any]) -> Any:
    """The outcome a finished job's row records: its result, or its error raised again."""
    if row["status"] == "succeeded":
        return row["result"]
    if row["status"] == "canceled":
        raise job_canceled(row["id"])
    error = row.get("result")
    if isinstance(error, dict) and "code" in error:
        raise ContractError(error["code"], error.get("message", ""),
                            error.get("details") or {}, error.get("exit_code", 1))
    raise JobSystemError("job_failed", row.get("last_error") or "the job failed",
                         {"job_id": row["id"]})
