"""Synora's own SQLite database: migrated on first use by its own Alembic environment.

Its SQLAlchemy sessions reuse store.sqlalchemy_engine's pooled, configured SQLite
engines (WAL, synchronous=NORMAL, busy timeout, BEGIN on demand), but never
store.engine.get_engine: that one would apply Conveyor's jobs migrations to whatever
file it is given. Its reads, and the operations' writes (store/synora_writes.py), go
through the driver (synora_driver); `synora package add` still uses a session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from store.driver import Driver, driver
from store.schema_stamp import sqlite_is_current

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).parent / "synora_migrations"


def ensure_schema(path: Path) -> None:
    """Migrate the database unless its stamp says it is current (store/migrate.py)."""
    if sqlite_is_current(path, MIGRATIONS_DIR):
        return
    from store.migrate import ensure_sqlite_schema

    ensure_sqlite_schema(sqlite_url(path), MIGRATIONS_DIR)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def synora_engine(path: Path) -> Engine:
    """The migrated engine of the Synora database at ``path``."""
    from store.sqlalchemy_engine import raw_engine

    ensure_schema(path)
    return raw_engine(sqlite_url(path))


def synora_driver(path: Path) -> Driver:
    """The driver of the Synora database at ``path`` (migrated on first connection):
    the CLI's reads (`synora package list/show`) go through it, without SQLAlchemy."""
    return driver(sqlite_url(path), MIGRATIONS_DIR)


@contextmanager
def read_session(path: Path) -> Iterator[Session]:
    from sqlalchemy.orm import Session

    with Session(synora_engine(path), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def write_session(path: Path) -> Iterator[Session]:
    """A transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE)."""
    from sqlalchemy.orm import Session

    engine = synora_engine(path).execution_options(sqlite_begin="IMMEDIATE")
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
