"""Engines and sessions: SQLite in WAL mode under CONVEYOR_HOME by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config.env import ConfigError
from config.redact import redact_url
from config.settings import get_settings
from store.driver import reset_drivers
from store.schema_stamp import sqlite_is_current
from store.sqlalchemy_engine import SQLITE_BUSY_TIMEOUT_MS, dispose_all, ensure_folder, raw_engine
from store.urls import normalize_url, sqlite_path

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "database_url", "dispose_engines", "get_engine",
           "raw_engine", "session_scope", "write_session"]


def database_url() -> str:
    return normalize_url(get_settings().effective_database_url)


_MIGRATED: set[str] = set()


def get_engine(url: str | None = None) -> Engine:
    """The engine for a URL (default: the configured database), migrated if it is SQLite."""
    url = normalize_url(url or database_url())
    if url not in _MIGRATED:
        path = sqlite_path(url)
        if path is not None:
            ensure_folder(path)
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
    dispose_all()
    _MIGRATED.clear()
    _sessionmaker_for.cache_clear()
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
