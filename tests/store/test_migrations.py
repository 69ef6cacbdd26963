from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect

from store.engine import get_engine
from store.migrate import heads, upgrade
from store.schema_stamp import schema_fingerprint, sqlite_is_current


def test_sqlite_is_migrated_on_first_use_and_stamped(conveyor_home: Path) -> None:
    url = f"sqlite:///{conveyor_home / 'fresh.db'}"
    engine = get_engine(url)
    assert "jobs" in inspect(engine).get_table_names()
    path = conveyor_home / "fresh.db"
    assert sqlite_is_current(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_fingerprint()


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        versions = {row[0] for row in rows}
    assert versions == heads()


def test_every_model_table_has_a_migration(db_url: str) -> None:
    from store.models import Base

    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
