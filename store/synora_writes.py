"""Synora's audit and registry writes, and its operations' look-ups, through the driver.

A quarantine of 10,000 files writes 10,101 audit rows and runs a dozen statements; through
SQLAlchemy the import and the ORM's set-up cost more than the rows (about 0.3 s of a CLI
call of a second). The columns are store/models/synora.py's (the models and their
migrations stay the one definition of the schema; tests/store/test_raw_sql_schema.py
checks these statements against them). Values are stored as the models store them:
timestamps as naive UTC text, JSON as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from store.driver import Cursor, as_json
from store.synora_db import synora_driver

QUARANTINE_COLUMNS = ("operation_id", "software_id", "kind", "relative_path", "file_path",
                      "original_location", "size_bytes", "mode", "sha256", "outcome", "reason",
                      "timestamp")
_IN_CHUNK = 500


@contextmanager
def write_transaction(db_path: Path) -> Iterator[Cursor]:
    """One transaction holding SQLite's write lock from its start (BEGIN IMMEDIATE)."""
    with synora_driver(db_path).transaction(write=True) as cursor:
        yield cursor


def fetch(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[SimpleNamespace]:
    """Rows (attributes named as the model's columns) of one read."""
    db = synora_driver(db_path)
    return [SimpleNamespace(**row) for row in db.fetch(db.sql(sql), params)]


def fetch_tuples(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Plain rows of one read, columns in the statement's order: for the reads of one row
    per file (10,101 of them for the benchmark's package), where a namespace per row costs
    more than the query."""
    db = synora_driver(db_path)
    return db.execute(db.sql(sql), params)


def insert_status(cursor: Cursor, *, operation_id: str, software_id: str,
                  old_version: str | None, status: str, message: str | None,
                  details: Any, timestamp: datetime) -> None:
    db = cursor.driver
    cursor.execute(db.sql(
        "INSERT INTO update_history (operation_id, software_id, old_version, new_version, "
        "status, message, details, timestamp) VALUES ({p}, {p}, {p}, NULL, {p}, {p}, {j}, {p})"),
        (operation_id, software_id, old_version, status, message, db.json(details),
         db.moment(timestamp)))


def insert_backup(cursor: Cursor, *, operation_id: str, software_id: str, hive: str,
                  key_path: str, blob: str, timestamp: datetime) -> None:
    db = cursor.driver
    cursor.execute(db.sql(
        "INSERT INTO registry_backup (operation_id, software_id, hive, key_path, backup_blob, "
        "timestamp) VALUES ({p}, {p}, {p}, {p}, {p}, {p})"),
        (operation_id, software_id, hive, key_path, blob, db.moment(timestamp)))


def insert_candidates(cursor: Cursor, rows: Iterable[tuple[Any, ...]]) -> None:
    """Quarantine rows, each a tuple in QUARANTINE_COLUMNS order (timestamp as stored)."""
    marks = ", ".join("{p}" for _ in QUARANTINE_COLUMNS)
    sql = cursor.driver.sql(f"INSERT INTO quarantine ({', '.join(QUARANTINE_COLUMNS)}) "
                            f"VALUES ({marks})")
    cursor.raw.executemany(sql, rows)


def update_outcomes(cursor: Cursor, outcome: str, *, operation_id: str, kind: str | None,
                    where_outcome: Sequence[str] | None,
                    relative_paths: Sequence[str] | None) -> None:
    """Set-based outcome update of one operation's quarantine rows."""
    db = cursor.driver
    base = "UPDATE quarantine SET outcome = {p} WHERE operation_id = {p}"
    params: list[Any] = [outcome, operation_id]
    if kind is not None:
        base += " AND kind = {p}"
        params.append(kind)
    if where_outcome is not None:
        base += f" AND outcome IN ({', '.join('{p}' for _ in where_outcome)})"
        params += list(where_outcome)
    if relative_paths is None:
        cursor.execute(db.sql(base), tuple(params))
        return
    for start in range(0, len(relative_paths), _IN_CHUNK):
        chunk = list(relative_paths[start:start + _IN_CHUNK])
        sql = base + f" AND relative_path IN ({', '.join('{p}' for _ in chunk)})"
        cursor.execute(db.sql(sql), (*params, *chunk))


def update_package_status(cursor: Cursor, package_id: str, status: str,
                          operation_id: str | None, now: datetime) -> bool:
    """Change a registry entry's state; False if there is no such entry."""
    db = cursor.driver
    found = cursor.execute(db.sql(
        "UPDATE software SET status = {p}, quarantine_operation_id = {p}, updated_at = {p} "
        "WHERE id = {p} RETURNING id"), (status, operation_id, db.moment(now), package_id))
    return bool(found)


SOFTWARE_WRITTEN = ("id", "name", "version", "source", "install_path", "risk_level", "status",
                    "quarantine_operation_id", "created_at", "updated_at")


def upsert_package(cursor: Cursor, values: dict[str, Any]) -> None:
    """Write a registry entry as given (datetimes for created_at/updated_at)."""
    db = cursor.driver
    params = tuple(db.moment(values[c]) if c.endswith("_at") else values[c]
                   for c in SOFTWARE_WRITTEN)
    updates = ", ".join(f"{c} = excluded.{c}" for c in SOFTWARE_WRITTEN[1:])
    cursor.execute(db.sql(
        f"INSERT INTO software ({', '.join(SOFTWARE_WRITTEN)}) VALUES "
        f"({', '.join('{p}' for _ in SOFTWARE_WRITTEN)}) ON CONFLICT (id) DO UPDATE SET "
        f"{updates}"), params)


def history_of(db_path: Path, operation_ids: Sequence[str]) -> list[SimpleNamespace]:
    """update_history rows of these operations, oldest first (details as objects)."""
    found: list[SimpleNamespace] = []
    for start in range(0, len(operation_ids), _IN_CHUNK):
        chunk = tuple(operation_ids[start:start + _IN_CHUNK])
        found += fetch(db_path, "SELECT id, operation_id, status, details FROM update_history "
                       f"WHERE operation_id IN ({', '.join('{p}' for _ in chunk)})", chunk)
    found.sort(key=lambda row: row.id)
    for row in found:
        row.details = as_json(row.details)
    return found
