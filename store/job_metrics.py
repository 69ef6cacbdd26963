"""The figures `conveyor metrics` exposes, counted by the database from the jobs table.

Plain SQL through the driver (store/job_writes.py): a scrape every few seconds must
cost a few aggregate queries, not SQLAlchemy's import or a row per job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from store.driver import Driver
from store.job_schema import JOBS_TABLE, JobStatus
from store.job_writes import database

# Upper bounds (seconds) of the job duration histogram: probes take milliseconds,
# pipeline runs many minutes.
DURATION_BUCKETS_S: tuple[float, ...] = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900,
                                         1800, 3600)
NO_CODE = "NONE"
"""The code label of a failure without a contract error (a crash, a lost worker)."""


@dataclass(frozen=True)
class Duration:
    """Finished jobs of one kind: cumulative counts per bucket bound, count, sum."""

    kind: str
    cumulative: tuple[int, ...]
    count: int
    sum_s: float


@dataclass
class JobFigures:
    by_kind_status: dict[tuple[str, str], int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_queued_at: dict[str, datetime] = field(default_factory=dict)
    durations: list[Duration] = field(default_factory=list)


def _is_sqlite(db: Driver) -> bool:
    return db.placeholder == "?"


def _seconds_between(db: Driver, start: str, end: str) -> str:
    if _is_sqlite(db):
        return f"((julianday({end}) - julianday({start})) * 86400.0)"
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def _error_code(db: Driver) -> str:
    return "json_extract(result, '$.code')" if _is_sqlite(db) else "(result->>'code')"


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _durations(db: Driver) -> list[Duration]:
    seconds = _seconds_between(db, "started_at", "finished_at")
    buckets = ", ".join(f"SUM(CASE WHEN {seconds} <= {bound!r} THEN 1 ELSE 0 END)"
                        for bound in DURATION_BUCKETS_S)
    rows = db.execute(
        f"SELECT kind, {buckets}, COUNT(*), COALESCE(SUM({seconds}), 0) FROM {JOBS_TABLE} "
        f"WHERE status IN ('{JobStatus.SUCCEEDED.value}', '{JobStatus.FAILED.value}') "
        "AND started_at IS NOT NULL AND finished_at IS NOT NULL GROUP BY kind", ())
    found = []
    for kind, *counts, count, total in rows:
        found.append(Duration(str(kind), tuple(int(c or 0) for c in counts), int(count),
                              float(total)))
    return found


def job_figures(url: str | None = None) -> JobFigures:
    """Every figure of the jobs table, in five aggregate queries."""
    db = database(url)
    figures = JobFigures()
    for kind, status, count in db.execute(
            f"SELECT kind, status, COUNT(*) FROM {JOBS_TABLE} GROUP BY kind, status", ()):
        figures.by_kind_status[(str(kind), str(status))] = int(count)
    # Every delivery after the first is a retry (a transient error, or a redelivery).
    for kind, attempts, retries in db.execute(
            f"SELECT kind, COALESCE(SUM(attempts), 0), "
            f"COALESCE(SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) "
            f"FROM {JOBS_TABLE} GROUP BY kind", ()):
        figures.attempts[str(kind)] = int(attempts)
        figures.retries[str(kind)] = int(retries)
    code = _error_code(db)
    for kind, error_code, count in db.execute(
            f"SELECT kind, {code}, COUNT(*) FROM {JOBS_TABLE} "
            f"WHERE status = '{JobStatus.FAILED.value}' GROUP BY kind, {code}", ()):
        key = (str(kind), str(error_code) if error_code else NO_CODE)
        figures.failures[key] = figures.failures.get(key, 0) + int(count)
    for queue, oldest in db.execute(
            f"SELECT queue, MIN(created_at) FROM {JOBS_TABLE} "
            f"WHERE status = '{JobStatus.QUEUED.value}' GROUP BY queue", ()):
        figures.oldest_queued_at[str(queue)] = _moment(oldest)
    figures.durations = _durations(db)
    return figures
