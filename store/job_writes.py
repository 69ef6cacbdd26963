"""Every write to the jobs table, straight through the database driver.

These run for every job: the queued row inside each publishing CLI, the running
and finished rows on the worker for every delivery. Through SQLAlchemy they cost
about 0.3 ms of statement building each and, in a CLI, 0.23 s of import for a
0.3 s budget; through sqlite3 or psycopg they cost tens of microseconds. The
columns and formats are the ones store/models/jobs.py declares (SQLAlchemy's
SQLite DateTime text, JSON text); tests/store read every write back through the
ORM to keep the two in step. The CLIs' reads go through the driver too
(store/job_reads.py); connections and value formats are store/driver.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from store.driver import Driver, driver
from store.driver import reset_drivers as reset_drivers
from store.job_schema import JOBS_TABLE, TERMINAL_STATUSES, JobStatus
from store.urls import ensure_sqlite_file, normalize_url, sqlite_path


@dataclass(frozen=True, kw_only=True)
class QueuedJob:
    id: str
    kind: str
    queue: str
    args: dict[str, Any]
    correlation_id: str | None = None
    max_attempts: int | None = None
    retry_of: str | None = None


@dataclass(frozen=True)
class AttemptStart:
    """What the store said when a delivery of a job began."""

    attempts: int
    """Deliveries so far, this one included; 0 when the job had already finished."""

    @property
    def finished(self) -> bool:
        return self.attempts == 0


_TERMINAL = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATUSES))

# {p} is the driver's placeholder, {j} a placeholder for a JSON value.
_INSERT_QUEUED = (
    f"INSERT INTO {JOBS_TABLE} (id, kind, queue, args, status, attempts, max_attempts, "
    "correlation_id, retry_of, created_at, updated_at) "
    f"VALUES ({{p}}, {{p}}, {{p}}, {{j}}, '{JobStatus.QUEUED.value}', 0, "
    "{p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (id) DO NOTHING"
)
_START_ATTEMPT = (
    f"INSERT INTO {JOBS_TABLE} (id, kind, queue, args, status, attempts, max_attempts, "
    "correlation_id, worker, created_at, updated_at, started_at) "
    f"VALUES ({{p}}, {{p}}, {{p}}, {{j}}, '{JobStatus.RUNNING.value}', 1, {{p}}, {{p}}, {{p}}, "
    "{p}, {p}, {p}) "
    f"ON CONFLICT (id) DO UPDATE SET status = '{JobStatus.RUNNING.value}', "
    f"attempts = {JOBS_TABLE}.attempts + 1, max_attempts = excluded.max_attempts, "
    "worker = excluded.worker, next_retry_at = NULL, updated_at = excluded.updated_at, "
    "started_at = excluded.started_at "
    f"WHERE {JOBS_TABLE}.status NOT IN ({_TERMINAL}) "
    "RETURNING attempts"
)
_REQUEUE_IF_IDLE = (
    f"UPDATE {JOBS_TABLE} SET status = '{JobStatus.QUEUED.value}', last_error = {{p}}, "
    "updated_at = {p} "
    f"WHERE id = {{p}} AND updated_at < {{p}} AND status NOT IN ({_TERMINAL}) "
    "RETURNING id"
)
_JSON_COLUMNS = frozenset({"args", "result"})


def _driver(url: str) -> Driver:
    return driver(url)


def _database_url(url: str | None) -> str:
    if url is not None:
        return url
    from config.settings import get_settings

    return get_settings().effective_database_url


def database(url: str | None = None) -> Driver:
    """The driver connection for a URL (default: the configured database), for raw reads
    elsewhere in store/ (job_queries.py, job_metrics.py). A URL neither driver takes is
    a settings error, as store/engine.py says it for SQLAlchemy."""
    chosen = normalize_url(_database_url(url))
    usable = (sqlite_path(chosen) is not None if chosen.startswith("sqlite:")
              else chosen.startswith("postgresql+psycopg://"))
    if not usable:
        from config.env import ConfigError
        from config.redact import redact_url

        raise ConfigError(f"CONVEYOR_DATABASE_URL is not a database URL Conveyor can use "
                          f"({redact_url(chosen)}): give sqlite:///path/conveyor.db or "
                          f"postgresql://...")
    path = sqlite_path(chosen)
    if path is not None:
        ensure_sqlite_file(path)
    return _driver(chosen)


def _now() -> datetime:
    return datetime.now(UTC)


def record_queued(url: str | None, job: QueuedJob) -> None:
    """Insert the job's row as queued unless a row with its id exists already."""
    db = _driver(_database_url(url))
    now = db.moment(_now())
    db.write(db.sql(_INSERT_QUEUED), (job.id, job.kind, job.queue, db.json(job.args),
                                        job.max_attempts, job.correlation_id, job.retry_of,
                                        now, now))


def start_attempt(job_id: str, *, kind: str, queue: str, args: dict[str, Any],
                  correlation_id: str | None, max_attempts: int | None, worker: str | None,
                  url: str | None = None) -> AttemptStart:
    """Mark the job running and count this delivery, unless it has already finished."""
    db = _driver(_database_url(url))
    now = db.moment(_now())
    rows = db.write(db.sql(_START_ATTEMPT), (job_id, kind, queue, db.json(args), max_attempts,
                                               correlation_id, worker, now, now, now))
    return AttemptStart(attempts=int(rows[0][0]) if rows else 0)


@cache
def _update_sql(columns: tuple[str, ...], unless_finished: bool, placeholder: str,
                json_placeholder: str) -> str:
    """The UPDATE of these columns, built once per shape (every job's writes repeat them)."""
    assignments = ", ".join(
        f"{column} = {json_placeholder if column in _JSON_COLUMNS else placeholder}"
        for column in columns)
    guard = f" AND status NOT IN ({_TERMINAL})" if unless_finished else ""
    return (f"UPDATE {JOBS_TABLE} SET {assignments} "
            f"WHERE id = {placeholder}{guard} RETURNING id")


def _update(job_id: str, url: str | None, values: dict[str, Any], *,
            unless_finished: bool = False, now: datetime | None = None) -> bool:
    """Whether the row was written (False: no such row, or finished and guarded).

    ``now`` is the moment the caller also wrote into ``values`` (finished_at): one
    moment for both columns, converted once."""
    db = _driver(_database_url(url))
    now = now or _now()
    moment = db.moment(now)
    values["updated_at"] = now
    params = [db.json(value) if column in _JSON_COLUMNS
              else moment if value is now
              else db.moment(value) if isinstance(value, datetime) else value
              for column, value in values.items()]
    params.append(job_id)
    sql = _update_sql(tuple(values), unless_finished, db.placeholder, db.json_placeholder)
    return bool(db.write(sql, tuple(params)))


def mark_retrying(job_id: str, *, next_retry_at: datetime, error: str,
                  exit_code: int | None = None, url: str | None = None) -> None:
    values: dict[str, Any] = {"status": JobStatus.RETRYING.value,
                              "next_retry_at": next_retry_at, "last_error": error}
    if exit_code is not None:  # the failed attempt's exit code, when the task knows one
        values["last_exit_code"] = exit_code
    # Guarded: a job canceled while its attempt ran stays canceled.
    _update(job_id, url, values, unless_finished=True)


def mark_succeeded(job_id: str, *, result: Any, url: str | None = None) -> bool:
    """False when the row had finished already (a duplicate delivery, or a cancel)."""
    # The first outcome stands: a duplicate delivery finishing later (at-least-once
    # delivery runs an idempotent body twice now and then) does not rewrite it.
    now = _now()
    return _update(job_id, url, {"status": JobStatus.SUCCEEDED.value, "result": result,
                                 "last_exit_code": 0, "next_retry_at": None,
                                 "finished_at": now}, unless_finished=True, now=now)


def mark_failed(job_id: str, *, error: str, exit_code: int | None, result: Any = None,
                url: str | None = None) -> None:
    now = _now()
    _update(job_id, url, {"status": JobStatus.FAILED.value, "last_error": error,
                          "last_exit_code": exit_code, "result": result,
                          "next_retry_at": None, "finished_at": now},
            unless_finished=True, now=now)


def requeue_if_idle(job_id: str, *, idle_since: datetime, reason: str,
                    url: str | None = None) -> bool:
    """Back to queued, if the row is unfinished and unchanged since ``idle_since``.

    workers/reconcile.py publishes the job again only when this returns True: a job
    that a worker picked up or finished meanwhile has moved its row, and is left alone.
    """
    db = _driver(_database_url(url))
    rows = db.write(db.sql(_REQUEUE_IF_IDLE), (reason, db.moment(_now()), job_id,
                                                 db.moment(idle_since)))
    return bool(rows)


def set_progress(job_id: str, progress: str, *, url: str | None = None) -> bool:
    """False when the row has finished (or been canceled): the attempt may stop."""
    return _update(job_id, url, {"progress": progress}, unless_finished=True)


def mark_canceled(job_id: str, *, reason: str, url: str | None = None) -> bool:
    """Cancel an unfinished job; False if it had finished (or been canceled) already."""
    now = _now()
    return _update(job_id, url, {"status": JobStatus.CANCELED.value, "last_error": reason,
                                 "next_retry_at": None, "finished_at": now},
                   unless_finished=True, now=now)
