"""Reading job rows for the operator's commands, straight through the database driver.

`conveyor jobs list/retry/cancel` run in a fresh process each: through sqlite3 or
psycopg they skip SQLAlchemy's import (a quarter of a second). The rows come out as
store/jobs.py gives them: ISO-8601 Z times, JSON columns decoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.clock import iso_z
from store.driver import Driver
from store.job_schema import JOBS_TABLE
from store.job_writes import database
from store.text import storable

JOB_COLUMNS = ("id", "kind", "queue", "args", "status", "attempts", "max_attempts",
               "next_retry_at", "last_error", "last_exit_code", "correlation_id", "progress",
               "result", "worker", "created_at", "updated_at", "started_at", "finished_at",
               "retry_of")
_TIME_COLUMNS = frozenset({"next_retry_at", "created_at", "updated_at", "started_at",
                           "finished_at"})
_JSON_COLUMNS = frozenset({"args", "result"})
_SELECT = f"SELECT {', '.join(JOB_COLUMNS)} FROM {JOBS_TABLE}"


@dataclass(frozen=True, kw_only=True)
class JobFilter:
    """What `conveyor jobs list` narrows the rows to; None means any."""

    status: str | None = None
    kind: str | None = None
    queue: str | None = None
    since: datetime | None = None
    """Only jobs created at or after this moment."""
    error: str | None = None
    """Text the job's last error, or a failed job's error code, contains (any case)."""
    limit: int = 50

    def texts(self) -> list[str]:
        return [t for t in (self.status, self.kind, self.queue, self.error) if t is not None]


def _moment(value: Any) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return iso_z(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def as_row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(JOB_COLUMNS, values, strict=True))
    for column in _TIME_COLUMNS:
        row[column] = _moment(row[column])
    for column in _JSON_COLUMNS:
        if isinstance(row[column], str):
            row[column] = json.loads(row[column])
    return row


def fetch_job(job_id: str, *, url: str | None = None) -> dict[str, Any] | None:
    if not storable(job_id):
        return None
    db = database(url)
    rows = db.execute(db.sql(f"{_SELECT} WHERE id = {{p}}"), (job_id,))
    return as_row(rows[0]) if rows else None


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(db: Driver, spec: JobFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column in ("status", "kind", "queue"):
        value = getattr(spec, column)
        if value is not None:
            clauses.append(f"{column} = {db.placeholder}")
            params.append(value)
    if spec.since is not None:
        clauses.append(f"created_at >= {db.placeholder}")
        params.append(db.moment(spec.since))
    if spec.error is not None:
        pattern = _like_pattern(spec.error)
        clauses.append(
            f"(LOWER(COALESCE(last_error, '')) LIKE {db.placeholder} ESCAPE '\\' "
            f"OR (status = 'failed' AND LOWER(CAST(result AS TEXT)) LIKE {db.placeholder} "
            "ESCAPE '\\'))")
        params += [pattern, pattern]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def find_jobs(spec: JobFilter, *, url: str | None = None) -> list[dict[str, Any]]:
    """The newest jobs matching every given filter, newest first."""
    if not all(storable(text) for text in spec.texts()):
        return []  # no row holds such text
    db = database(url)
    where, params = _where(db, spec)
    sql = f"{_SELECT}{where} ORDER BY created_at DESC, id LIMIT {db.placeholder}"
    return [as_row(values) for values in db.execute(sql, (*params, spec.limit))]
