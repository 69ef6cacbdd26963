"""Alembic migrations: `conveyor db upgrade`, and automatically for SQLite."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from store.schema_stamp import MIGRATIONS_DIR, mark_sqlite_current, sqlite_is_current
from store.urls import normalize_url, sqlite_path


def alembic_config(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def upgrade(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Apply every migration of every branch (each contract has its own branch)."""
    from store.sqlalchemy_engine import raw_engine

    cfg = alembic_config(url, migrations_dir)
    with raw_engine(url).begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_sqlite_schema(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Migrate a SQLite database unless its stamp says it is current.

    Several processes (CLI, stack workers) may start at once: a file lock makes one
    of them migrate while the others wait, then find the stamp current.
    """
    path = sqlite_path(url)
    if path is None or sqlite_is_current(path, migrations_dir):
        return
    with _file_lock(path.with_name(path.name + ".migrate.lock")):
        if sqlite_is_current(path, migrations_dir):
            return
        upgrade(url, migrations_dir)
        mark_sqlite_current(path, migrations_dir)
