"""Engines and sessions: SQLite in WAL mode under CONVEYOR_HOME by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from config.env import ConfigError
from config.redact import redact_url
from config.settings import get_settings
from store.schema_stamp import sqlite_is_current
from store.urls import ensure_sqlite_file, is_sqlite, normalize_url, sqlite_path

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, so a caller can ask for
        # BEGIN IMMEDIATE (pysqlite would otherwise start transactions lazily, and a
        # read-then-write transaction could then fail instead of waiting).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable, no fsync per commit
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def raw_engine(url: str) -> Engine:
    """The pooled engine for a URL, configured but not migrated."""
    url = normalize_url(url)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _create_engine(url)
            _ENGINES[url] = engine
        return engine


def _create_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        _ensure_folder(path)
    elif is_sqlite(url):
        # Each connection would get its own empty database, unmigrated and unseen by workers.
        raise ConfigError(f"CONVEYOR_DATABASE_URL is an in-memory SQLite database "
                          f"({redact_url(url)}): give a file, sqlite:///path/conveyor.db")
    try:
        if is_sqlite(url):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"CONVEYOR_DATABASE_URL is not a database URL Conveyor can use "
                          f"({redact_url(url)}): {exc}") from None


def _ensure_folder(path: Path) -> None:
    ensure_sqlite_file(path)


def database_url() -> str:
    return normalize_url(get_settings().effective_database_url)


_MIGRATED: set[str] = set()


def get_engine(url: str | None = None) -> Engine:
    """The engine for a URL (default: the configured database), migrated if it is SQLite."""
    url = normalize_url(url or database_url())
    if url not in _MIGRATED:
        path = sqlite_path(url)
        if path is not None:
            _ensure_folder(path)
        # The stamp check is cheap; Alembic (store.migrate) costs ~0.1 s just to import.
        if path is not None and not sqlite_is_current(path):
            from store.migrate import ensure_sqlite_schema

            ensure_sqlite_schema(url)
        if path is None and not _has_schema(raw_engine(url)):
            return raw_engine(url)  # unreachable for now: ask again next time
        _MIGRATED.add(url)
    return raw_engine(url)


def _has_schema(engine: Engine) -> bool:
    """Whether a server database has been migrated (`conveyor db upgrade`); a settings
    error if not, rather than "relation jobs does not exist" from the first query.
    False when the server cannot be asked now: the caller's own query will say why."""
    try:
        with engine.connect() as conn:
            present = engine.dialect.has_table(conn, "alembic_version")
    except DBAPIError:
        return False
    if not present:
        raise ConfigError(f"the database {redact_url(engine.url.render_as_string())} has no "
                          f"Conveyor schema: run `conveyor db upgrade` (CONVEYOR_DATABASE_URL)")
    return True


def dispose_engines() -> None:
    """Close every pooled connection (tests, and after fork)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _MIGRATED.clear()
    _sessionmaker_for.cache_clear()
    from store.job_writes import reset_drivers

    reset_drivers()


@cache
def _sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with _sessionmaker_for(get_engine(url)).begin() as session:
        yield session


@contextmanager
def write_session(url: str | None = None) -> Iterator[Session]:
    """A session for read-then-write transactions that must not interleave.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the write lock is taken
    up front, other writers wait); on PostgreSQL use SELECT ... FOR UPDATE or
    conditional UPDATEs inside it.
    """
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
