"""Reading the jobs table (writes: store/job_writes.py), and pruning it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select

from domain.clock import iso_z, utc_now
from domain.errors import ContractError, JobSystemError
from store.engine import get_engine
from store.job_schema import TERMINAL_STATUSES
from store.models.jobs import Job
from store.text import storable

_jobs = cast(Table, Job.__table__)


def _as_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = iso_z(value)
    return data


def get_job(job_id: str, *, url: str | None = None) -> dict[str, Any] | None:
    if not storable(job_id):
        return None
    with get_engine(url).connect() as conn:
        row = conn.execute(select(_jobs).where(_jobs.c.id == job_id)).first()
    return _as_dict(row) if row is not None else None


def list_jobs(*, status: str | None = None, kind: str | None = None, limit: int = 50,
              url: str | None = None) -> list[dict[str, Any]]:
    if kind is not None and not storable(kind):
        return []
    query = select(_jobs).order_by(_jobs.c.created_at.desc(), _jobs.c.id).limit(limit)
    if status is not None:
        query = query.where(_jobs.c.status == status)
    if kind is not None:
        query = query.where(_jobs.c.kind == kind)
    with get_engine(url).connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def unfinished_jobs_idle_since(moment: datetime, *, limit: int = 10_000,
                               url: str | None = None) -> list[dict[str, Any]]:
    """Queued, running or retrying jobs whose row has not changed since ``moment``."""
    query = (select(_jobs)
             .where(_jobs.c.status.not_in([s.value for s in TERMINAL_STATUSES]),
                    _jobs.c.updated_at < moment)
             .order_by(_jobs.c.updated_at).limit(limit))
    with get_engine(url).connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def prune_finished(*, older_than: timedelta, url: str | None = None) -> int:
    """Delete finished jobs older than the given age; returns how many."""
    cutoff = utc_now() - older_than
    stmt = delete(_jobs).where(
        _jobs.c.status.in_([s.value for s in TERMINAL_STATUSES]),
        _jobs.c.finished_at < cutoff,
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
