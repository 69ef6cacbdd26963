"""A cheap "is the SQLite schema current?" check that needs neither SQLAlchemy nor Alembic.

After migrating a SQLite database we store a fingerprint of its migration files in
PRAGMA user_version; a process that finds the same fingerprint skips Alembic
(importing it and SQLAlchemy costs a quarter of a second, too much for a CLI).
"""

from __future__ import annotations

import sqlite3
import zlib
from functools import cache
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@cache
def schema_fingerprint(migrations_dir: Path = MIGRATIONS_DIR) -> int:
    """A number that changes whenever a migration file is added to ``migrations_dir``."""
    names = sorted(p.name for p in (migrations_dir / "versions").glob("*.py")
                   if not p.name.startswith("_"))
    text = "\n".join([migrations_dir.name, *names])
    return zlib.crc32(text.encode()) & 0x7FFFFFFF or 1


def sqlite_is_current(path: Path, migrations_dir: Path = MIGRATIONS_DIR) -> bool:
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path, timeout=30) as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error:
        return False
    return bool(version == schema_fingerprint(migrations_dir))


def mark_sqlite_current(path: Path, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute(f"PRAGMA user_version = {schema_fingerprint(migrations_dir)}")
