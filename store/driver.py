"""SQL straight through the database driver (sqlite3, psycopg): no SQLAlchemy on the hot paths.

The jobs table's writes (store/job_writes.py) and every CLI's store reads go through
here. Importing SQLAlchemy costs a CLI about 0.2 s for a query of a millisecond; the
driver costs nothing to import. The schema is still defined once, by the models and
their migrations: a SQLite file whose fingerprint (PRAGMA user_version) is stale is
migrated first, and only then are Alembic and SQLAlchemy imported.
tests/store/test_raw_sql_schema.py checks every raw statement against the models.

Values come back in the models' Python types: SQLite's DateTime text as aware UTC
datetimes, JSON text as objects (psycopg does both itself for PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from store.job_schema import SQLITE_DATETIME_FORMAT
from store.schema_stamp import MIGRATIONS_DIR, schema_fingerprint
from store.urls import libpq_url, normalize_url, sqlite_path

SQLITE_BUSY_TIMEOUT_S = 30
# SQLite checkpoints the WAL into the database file, with an fsync, inside the commit
# that crosses this many pages; at the default 1000 that is every few hundred job
# writes, and each such commit stalls for milliseconds on a busy disk. 10000 pages
# (a WAL of about 40 MB, written again from its start after each checkpoint) makes
# those stalls ten times rarer.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10000


class Driver(ABC):
    """One database's connection per thread, its placeholders and value formats.

    SQL templates use {p} for a parameter and {j} for a JSON parameter.
    """

    placeholder: str
    json_placeholder: str

    def sql(self, template: str) -> str:
        return _filled(template, self.placeholder, self.json_placeholder)

    @abstractmethod
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on its own (autocommit); the rows it returns, if any."""

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A hot single-statement write (the jobs table's every transition), autocommit.

        It returns what execute does for RETURNING columns of text or integers; values
        of other types may come back as text (PostgreSQL's text format)."""
        return self.execute(sql, params)

    @abstractmethod
    def executemany(self, sql: str, params: Iterable[tuple[Any, ...]]) -> None:
        """Run one statement for many parameter tuples, in one transaction."""

    @abstractmethod
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        """One transaction, committed on success. A write transaction takes SQLite's write
        lock up front (BEGIN IMMEDIATE: a read-then-write waits instead of failing); on
        PostgreSQL lock the rows read with SELECT ... FOR UPDATE."""

    def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name (autocommit, like execute)."""
        with self.cursor() as cursor:
            return cursor.fetch(sql, params)

    @abstractmethod
    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """Statements on this thread's connection, each committing on its own."""

    @abstractmethod
    def moment(self, value: datetime) -> Any:
        """A timezone-aware datetime as this driver stores it."""

    def json(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


@cache
def _filled(template: str, placeholder: str, json_placeholder: str) -> str:
    """A template with a driver's placeholders (once per template: every job write asks)."""
    return template.replace("{p}", placeholder).replace("{j}", json_placeholder)


class Cursor:
    """Statements inside one connection (and, from Driver.transaction, one transaction)."""

    def __init__(self, raw: Any, driver: Driver) -> None:
        self.raw = raw
        self.driver = driver

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self.raw.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cursor = self.raw.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_datetime(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite keeps naive UTC text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_json(value: Any) -> Any:
    """A stored JSON value as an object (SQLite returns the text, psycopg the object)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


class SqliteDriver(Driver):
    placeholder = "?"
    json_placeholder = "?"

    def __init__(self, url: str, migrations_dir: Path = MIGRATIONS_DIR) -> None:
        self.url = url
        self.migrations_dir = migrations_dir
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        path = sqlite_path(self.url)
        if path is None:
            from config.env import ConfigError

            raise ConfigError(f"CONVEYOR_DATABASE_URL is an in-memory SQLite database "
                              f"({self.url}): give a file, sqlite:///path/conveyor.db")
        conn = self._connect(path) if path.exists() else None
        # The fingerprint on this very connection: no second open to check it.
        if conn is None or _user_version(conn) != schema_fingerprint(self.migrations_dir):
            if conn is not None:
                conn.close()
            from store.migrate import ensure_sqlite_schema  # Alembic only when it must run
            from store.urls import ensure_sqlite_file

            ensure_sqlite_file(path)
            ensure_sqlite_schema(self.url, self.migrations_dir)
            conn = self._connect(path)
        return conn

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        # As store/sqlalchemy_engine.py: in WAL mode, NORMAL commits without an fsync each.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        return conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, params).fetchall()

    def executemany(self, sql: str, params: Iterable[tuple[Any, ...]]) -> None:
        with self.transaction() as cursor:
            cursor.raw.executemany(sql, params)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Cursor(conn, self)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        yield Cursor(self._connection(), self)

    def moment(self, value: datetime) -> str:
        return value.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT)


def _user_version(conn: sqlite3.Connection) -> int:
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError:
        return -1  # not a database (yet): the migration says why
    return int(version)


class PostgresDriver(Driver):
    placeholder = "%s"
    json_placeholder = "%s::json"

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)
        self._local = threading.local()

    def _connection(self) -> Any:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            # Statements are prepared server-side after their first use (psycopg's
            # prepare_threshold), so the hot ones are parsed and planned once.
            try:
                conn = psycopg.connect(self.url, autocommit=True, prepare_threshold=0)
            except psycopg.ProgrammingError as exc:  # the URL itself: not an outage
                raise _not_usable(self.url, exc) from None
            if "synchronous_commit" not in self.url:
                conn.execute(_BOOKKEEPING_COMMITS)
            self._local.conn = conn
            # One cursor per connection for single statements: a new cursor per call
            # (Connection.execute) builds its adapter map again, a fifth of a write's CPU.
            self._local.cursor = conn.cursor()
            self._local.prepared = {}  # write()'s statements prepared on this connection
        return conn

    @contextmanager
    def _guarded(self) -> Iterator[Any]:
        conn = self._connection()
        try:
            yield conn
        except Exception as exc:
            _raise_translated(conn, exc)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._guarded():
            cursor = self._local.cursor
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Straight through libpq: one prepared statement, parameters as text.

        psycopg's cursor spends about 100 us of Python per statement (query conversion,
        adaptation, result objects), three times what the server spends on a jobs-table
        write; a job makes three. libpq's PQexecPrepared, which psycopg exposes as
        PGconn.exec_prepared and which runs without the GIL, costs a few microseconds.
        Errors are the exception classes psycopg raises for the same SQLSTATE."""
        conn = self._connection()
        try:  # not _guarded(): its context manager would cost a tenth of this call
            pgconn = conn.pgconn
            name = self._prepared(pgconn, sql)
            result = pgconn.exec_prepared(name, _text_params(params))
            if result.status not in _OK_STATUSES:
                _raise_for(result)
        except Exception as exc:
            _raise_translated(conn, exc)
        if not result.ntuples:
            return []
        columns = range(result.nfields)
        integers = [result.ftype(column) in _INTEGER_OIDS for column in columns]
        return [tuple([_text_value(result.get_value(row, column), integers[column])
                       for column in columns])
                for row in range(result.ntuples)]

    def _prepared(self, pgconn: Any, sql: str) -> bytes:
        """The name of ``sql`` prepared on this thread's connection (prepared once)."""
        prepared: dict[str, bytes] = self._local.prepared
        name = prepared.get(sql)
        if name is None:
            name = f"conveyor_write_{len(prepared)}".encode()
            _raise_for(pgconn.prepare(name, _numbered_placeholders(sql).encode()))
            prepared[sql] = name
        return name

    def executemany(self, sql: str, params: Iterable[tuple[Any, ...]]) -> None:
        with self._guarded() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(sql, list(params))  # psycopg pipelines executemany

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        with self._guarded() as conn, conn.transaction():
            yield Cursor(conn, self)

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        with self._guarded() as conn:
            yield Cursor(conn, self)

    def moment(self, value: datetime) -> datetime:
        return value


# The jobs table's commits on PostgreSQL are as durable as on SQLite, whose WAL with
# synchronous=NORMAL survives a crash of any process but may lose the last commits to a
# power cut: with synchronous_commit off, PostgreSQL may lose the commits of its last
# few hundred milliseconds to a crash of its server (never a torn or corrupt row), and
# a commit does not wait for its WAL flush, which on this class of machine costs the
# server more than the statement itself. A URL whose options set synchronous_commit
# (options=-csynchronous_commit%3Don) keeps that setting instead.
_BOOKKEEPING_COMMITS = "SET synchronous_commit TO off"


def _raise_translated(conn: Any, exc: Exception) -> NoReturn:
    """Raise what a failed statement means: a lost connection is closed (reconnected on
    the next call) and its error raised as it is; a missing table is a settings error."""
    import psycopg

    if isinstance(exc, psycopg.errors.UndefinedTable):
        from config.env import ConfigError

        raise ConfigError("the database has no Conveyor schema: run `conveyor db upgrade` "
                          "(CONVEYOR_DATABASE_URL)") from exc
    if isinstance(exc, psycopg.OperationalError):
        conn.close()
    raise exc


def _numbered_placeholders(sql: str) -> str:
    """psycopg's %s placeholders as libpq's $1, $2, ... (the SQL has no literal %)."""
    parts = sql.split("%s")
    return "".join(part + (f"${index + 1}" if index < len(parts) - 1 else "")
                   for index, part in enumerate(parts))


def _text_params(params: tuple[Any, ...]) -> list[bytes | None]:
    """Every parameter in text form. A job write passes the same moment two or three
    times (updated_at, started_at, ...): it is formatted once."""
    texts: list[bytes | None] = []
    moment: Any = None
    moment_text: bytes | None = None
    for value in params:
        if type(value) is str:
            texts.append(value.encode())
        elif value is None:
            texts.append(None)
        elif value is moment:
            texts.append(moment_text)
        else:
            text = _text_param(value)
            if isinstance(value, datetime):
                moment, moment_text = value, text
            texts.append(text)
    return texts


def _text_param(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format; the statement's context gives its type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a PostgreSQL write")
        return value.isoformat().encode()
    if isinstance(value, int | float | str):
        return str(value).encode()
    raise TypeError(f"no text form for a {type(value).__name__} parameter")


# libpq's PGRES_COMMAND_OK and PGRES_TUPLES_OK (psycopg.pq.ExecStatus), without its import.
_OK_STATUSES = frozenset({1, 2})
# PostgreSQL's type OIDs of int8, int2 and int4 (pg_type).
_INTEGER_OIDS = frozenset({20, 21, 23})


def _text_value(value: bytes | None, integer: bool) -> Any:
    """A returned column in text format: an integer column as int, any other as text."""
    if value is None:
        return None
    return int(value) if integer else value.decode()


def _raise_for(result: Any) -> None:
    """The psycopg exception for a failed libpq result (same class, same message)."""
    if result.status in _OK_STATUSES:
        return
    import psycopg
    from psycopg import pq

    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    message = (result.error_message or b"").decode(errors="replace").strip()
    error_class: type[Exception] = psycopg.errors.lookup(sqlstate.decode()) if sqlstate \
        else psycopg.OperationalError
    raise error_class(message or "the PostgreSQL statement failed")


_drivers: dict[tuple[str, Path], Driver] = {}
# The same drivers keyed by the URL as callers give it: every job write looks its driver
# up, and a dict read needs neither the lock nor the URL's normalization and checks.
_drivers_by_given_url: dict[tuple[str, Path], Driver] = {}
_drivers_lock = threading.Lock()


def _not_usable(url: str, reason: object) -> Exception:
    from config.env import ConfigError
    from config.redact import redact_url

    return ConfigError(f"CONVEYOR_DATABASE_URL is not a database URL Conveyor can use "
                       f"({redact_url(url)}): {reason}")


def _check_url(url: str) -> None:
    """SQLite or PostgreSQL (through psycopg), as text a driver can take."""
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_usable(url.encode("utf-8", "replace").decode(), "not UTF-8 text") from None
    if not url.startswith(("sqlite://", "postgresql+psycopg://")):
        raise _not_usable(url, "expected sqlite:///path or postgresql://...")


def driver(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> Driver:
    """The driver of a database URL (SQLite files are migrated on first connection)."""
    given = (url, migrations_dir)
    known = _drivers_by_given_url.get(given)  # atomic under the GIL: no lock needed
    if known is not None:
        return known
    url = normalize_url(url)
    _check_url(url)
    with _drivers_lock:
        found = _drivers.get((url, migrations_dir))
        if found is None:
            found = (SqliteDriver(url, migrations_dir) if url.startswith("sqlite")
                     else PostgresDriver(url))
            _drivers[(url, migrations_dir)] = found
        _drivers_by_given_url[given] = found
        return found


def default_driver(url: str | None = None) -> Driver:
    """The driver of ``url``, or of the configured jobs database."""
    if url is None:
        from config.settings import get_settings

        url = get_settings().effective_database_url
    return driver(url)


def reset_drivers() -> None:
    """Forget every connection (tests, and pool children after a fork)."""
    with _drivers_lock:
        _drivers.clear()
        _drivers_by_given_url.clear()
