"""Every write to the jobs table, straight through the database driver.

These run for every job: the queued row inside each publishing CLI, the running
and finished rows on the worker for every delivery. Through SQLAlchemy they cost
about 0.3 ms of statement building each and, in a CLI, 0.23 s of import for a
0.3 s budget; through sqlite3 or psycopg they cost tens of microseconds. The
columns and formats are the ones store/models/jobs.py declares (SQLAlchemy's
SQLite DateTime text, JSON text); tests/store read every write back through the
ORM to keep the two in step. Reads, which are rare, go through SQLAlchemy
(store/jobs.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.job_schema import JOBS_TABLE, SQLITE_DATETIME_FORMAT, TERMINAL_STATUSES, JobStatus
from store.schema_stamp import sqlite_is_current
from store.urls import ensure_sqlite_file, libpq_url, normalize_url, sqlite_path


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


class _Driver(ABC):
    """One database driver's connection (per thread), placeholders and value formats."""

    placeholder: str
    json_placeholder: str

    def sql(self, template: str) -> str:
        return template.replace("{p}", self.placeholder).replace("{j}", self.json_placeholder)

    @abstractmethod
    def execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def moment(self, value: datetime) -> Any: ...

    def json(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


class _SqliteDriver(_Driver):
    placeholder = "?"
    json_placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = sqlite_path(self.url)
            assert path is not None, "an in-memory SQLite database cannot be shared"
            if not sqlite_is_current(path):
                from store.migrate import ensure_sqlite_schema

                ensure_sqlite_schema(self.url)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            # As store/engine.py: in WAL mode, NORMAL commits without an fsync each.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, params).fetchall()

    def moment(self, value: datetime) -> str:
        return value.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT)


class _PostgresDriver(_Driver):
    placeholder = "%s"
    json_placeholder = "%s::json"

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)
        self._local = threading.local()

    def execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
            self._local.conn = conn
        try:
            cursor = conn.execute(sql, params)
        except psycopg.OperationalError:
            conn.close()  # reconnect on the next call
            raise
        return cursor.fetchall() if cursor.description else []

    def moment(self, value: datetime) -> datetime:
        return value


# The public name of a driver connection, for the raw readers of store/.
Driver = _Driver

_drivers: dict[str, _Driver] = {}
_drivers_lock = threading.Lock()


def _driver(url: str) -> _Driver:
    url = normalize_url(url)
    with _drivers_lock:
        driver = _drivers.get(url)
        if driver is None:
            driver = _SqliteDriver(url) if url.startswith("sqlite") else _PostgresDriver(url)
            _drivers[url] = driver
        return driver


def reset_drivers() -> None:
    """Forget every connection (tests, and pool children after a fork)."""
    with _drivers_lock:
        _drivers.clear()


def _database_url(url: str | None) -> str:
    if url is not None:
        return url
    from config.settings import get_settings

    return get_settings().effective_database_url


def database(url: str | None = None) -> _Driver:
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
    db.execute(db.sql(_INSERT_QUEUED), (job.id, job.kind, job.queue, db.json(job.args),
                                        job.max_attempts, job.correlation_id, job.retry_of,
                                        now, now))


def start_attempt(job_id: str, *, kind: str, queue: str, args: dict[str, Any],
                  correlation_id: str | None, max_attempts: int | None, worker: str | None,
                  url: str | None = None) -> AttemptStart:
    """Mark the job running and count this delivery, unless it has already finished."""
    db = _driver(_database_url(url))
    now = db.moment(_now())
    rows = db.execute(db.sql(_START_ATTEMPT), (job_id, kind, queue, db.json(args), max_attempts,
                                               correlation_id, worker, now, now, now))
    return AttemptStart(attempts=int(rows[0][0]) if rows else 0)


def _update(job_id: str, url: str | None, values: dict[str, Any], *,
            unless_finished: bool = False) -> bool:
    """Whether the row was written (False: no such row, or finished and guarded)."""
    db = _driver(_database_url(url))
    values["updated_at"] = _now()
    assignments, params = [], []
    for column, value in values.items():
        if column in _JSON_COLUMNS:
            assignments.append(f"{column} = {db.json_placeholder}")
            params.append(db.json(value))
        else:
            assignments.append(f"{column} = {db.placeholder}")
            params.append(db.moment(value) if isinstance(value, datetime) else value)
    params.append(job_id)
    guard = f" AND status NOT IN ({_TERMINAL})" if unless_finished else ""
    rows = db.execute(f"UPDATE {JOBS_TABLE} SET {', '.join(assignments)} "
                      f"WHERE id = {db.placeholder}{guard} RETURNING id", tuple(params))
    return bool(rows)


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
    return _update(job_id, url, {"status": JobStatus.SUCCEEDED.value, "result": result,
                                 "last_exit_code": 0, "next_retry_at": None,
                                 "finished_at": _now()}, unless_finished=True)


def mark_failed(job_id: str, *, error: str, exit_code: int | None, result: Any = None,
                url: str | None = None) -> None:
    _update(job_id, url, {"status": JobStatus.FAILED.value, "last_error": error,
                          "last_exit_code": exit_code, "result": result,
                          "next_retry_at": None, "finished_at": _now()}, unless_finished=True)


def requeue_if_idle(job_id: str, *, idle_since: datetime, reason: str,
                    url: str | None = None) -> bool:
    """Back to queued, if the row is unfinished and unchanged since ``idle_since``.

    workers/reconcile.py publishes the job again only when this returns True: a job
    that a worker picked up or finished meanwhile has moved its row, and is left alone.
    """
    db = _driver(_database_url(url))
    rows = db.execute(db.sql(_REQUEUE_IF_IDLE), (reason, db.moment(_now()), job_id,
                                                 db.moment(idle_since)))
    return bool(rows)


def set_progress(job_id: str, progress: str, *, url: str | None = None) -> bool:
    """False when the row has finished (or been canceled): the attempt may stop."""
    return _update(job_id, url, {"progress": progress}, unless_finished=True)


def mark_canceled(job_id: str, *, reason: str, url: str | None = None) -> bool:
    """Cancel an unfinished job; False if it had finished (or been canceled) already."""
    return _update(job_id, url, {"status": JobStatus.CANCELED.value, "last_error": reason,
                                 "next_retry_at": None, "finished_at": _now()},
                   unless_finished=True)
