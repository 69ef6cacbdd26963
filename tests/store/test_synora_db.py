"""Synora's own database: its own migrations, nothing of the jobs database in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect

from store.models import Base
from store.models.synora import SynoraBase
from store.schema_stamp import MIGRATIONS_DIR, schema_fingerprint
from store.synora_db import MIGRATIONS_DIR as SYNORA_MIGRATIONS
from store.synora_db import synora_engine


def test_migrated_on_first_use_in_wal_mode_and_stamped(tmp_path: Path) -> None:
    path = tmp_path / "db" / "synora.db"
    engine = synora_engine(path)
    tables = set(inspect(engine).get_table_names())
    assert tables == set(SynoraBase.metadata.tables) | {"alembic_version"}
    assert tables == {"software", "update_history", "quarantine", "registry_backup",
                      "alembic_version"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stamp = conn.execute("PRAGMA user_version").fetchone()[0]
        assert stamp == schema_fingerprint(SYNORA_MIGRATIONS) != schema_fingerprint(MIGRATIONS_DIR)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0001_synora",)]
    synora_engine(path)  # a second use skips Alembic (the stamp is current)


def test_the_two_metadatas_do_not_mix() -> None:
    assert not set(Base.metadata.tables) & set(SynoraBase.metadata.tables)
