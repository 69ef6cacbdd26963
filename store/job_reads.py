"""Reading job rows through the driver: `conveyor jobs list/show/wait` and waiting CLIs.

A row is the dict store/models/jobs.py's columns make, in their order, with
timestamps as ISO-8601 Z text and JSON columns as objects (what the ORM reads gave).
"""

from __future__ import annotations

from typing import Any

from common.clock import iso_z
from store.driver import as_datetime, as_json, default_driver
from store.job_schema import JOBS_TABLE
from store.text import storable

JOB_COLUMNS = ("id", "kind", "queue", "args", "status", "attempts", "max_attempts",
               "next_retry_at", "last_error", "last_exit_code", "correlation_id", "progress",
               "result", "worker", "created_at", "updated_at", "started_at", "finished_at",
               "retry_of")
_DATETIME_COLUMNS = frozenset({"next_retry_at", "created_at", "updated_at", "started_at",
                               "finished_at"})
_JSON_COLUMNS = frozenset({"args", "result"})

SELECT_JOBS = f"SELECT {', '.join(JOB_COLUMNS)} FROM {JOBS_TABLE}"
GET_JOB = SELECT_JOBS + " WHERE id = {p}"


def list_jobs_sql(*, status: bool, kind: bool) -> str:
    """The list query; ``status`` and ``kind`` say which filters it has."""
    filters = [f"{column} = {{p}}" for column, on in (("status", status), ("kind", kind)) if on]
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    return f"{SELECT_JOBS}{where} ORDER BY created_at DESC, id LIMIT {{p}}"


def job_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for column in JOB_COLUMNS:
        value = row[column]
        if column in _DATETIME_COLUMNS:
            moment = as_datetime(value)
            value = iso_z(moment) if moment is not None else None
        elif column in _JSON_COLUMNS:
            value = as_json(value)
        out[column] = value
    return out


def get_job(job_id: str, *, url: str | None = None) -> dict[str, Any] | None:
    if not storable(job_id):
        return None
    db = default_driver(url)
    rows = db.fetch(db.sql(GET_JOB), (job_id,))
    return job_dict(rows[0]) if rows else None


def list_jobs(*, status: str | None = None, kind: str | None = None, limit: int = 50,
              url: str | None = None) -> list[dict[str, Any]]:
    """The most recent jobs, newest first."""
    if kind is not None and not storable(kind):
        return []
    db = default_driver(url)
    params = (*[v for v in (status, kind) if v is not None], limit)
    sql = db.sql(list_jobs_sql(status=status is not None, kind=kind is not None))
    return [job_dict(row) for row in db.fetch(sql, params)]
