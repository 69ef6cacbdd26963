"""The pooled SQLAlchemy engine of each database URL, configured but not migrated.

Apart from store/engine.py (which migrates on first use) so that store/migrate.py can
build on it without importing the module that calls it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from config.env import ConfigError
from config.redact import redact_url
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
        ensure_folder(path)
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


def ensure_folder(path: Path) -> None:
    """The SQLite file's folder (0700) and the file (0600), or a clear settings error."""
    ensure_sqlite_file(path)


def dispose_all() -> None:
    """Close and forget every engine."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
