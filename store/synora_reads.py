"""Synora's registry read through the driver: `synora package list/show` and the
operations' look-ups. Rows carry store/models/synora.py's Software columns."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from store.driver import as_datetime
from store.synora_db import synora_driver

SOFTWARE_TABLE = "software"
SOFTWARE_COLUMNS = ("id", "name", "version", "source", "install_path", "risk_level", "status",
                    "quarantine_operation_id", "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(SOFTWARE_COLUMNS)} FROM {SOFTWARE_TABLE}"


def packages_sql(*, by_id: bool, by_status: bool) -> str:
    filters = [f"{column} = {{p}}" for column, on in (("id", by_id), ("status", by_status))
               if on]
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    return f"{_SELECT}{where} ORDER BY id"


def select_packages(db_path: Path, *, package_id: str | None = None,
                    status: str | None = None) -> list[SimpleNamespace]:
    """Registry rows (attributes as the model's), ordered by id."""
    db = synora_driver(db_path)
    params = tuple(v for v in (package_id, status) if v is not None)
    sql = db.sql(packages_sql(by_id=package_id is not None, by_status=status is not None))
    rows = []
    for raw in db.fetch(sql, params):
        raw["created_at"] = as_datetime(raw["created_at"])
        raw["updated_at"] = as_datetime(raw["updated_at"])
        rows.append(SimpleNamespace(**raw))
    return rows
