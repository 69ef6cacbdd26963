"""Finding job rows for `conveyor jobs list` by its filters, through the database driver.

`conveyor jobs list` runs in a fresh process each time: through sqlite3 or
psycopg it skips SQLAlchemy's import (a quarter of a second). The rows come out as
store/job_reads.py decodes them (ISO-8601 Z times, JSON columns decoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.driver import Driver
from store.job_reads import SELECT_JOBS, job_dict
from store.job_writes import database
from store.text import storable


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
    sql = f"{SELECT_JOBS}{where} ORDER BY created_at DESC, id LIMIT {db.placeholder}"
    return [job_dict(row) for row in db.fetch(sql, (*params, spec.limit))]
