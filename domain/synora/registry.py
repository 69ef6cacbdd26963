"""The registry of installed software: what Synora knows is on this machine, and where."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common.clock import iso_z, utc_now
from config.synora import RISK_LEVELS
from domain.synora.errors import (
    PACKAGE_EXISTS,
    PACKAGE_NOT_FOUND,
    PATH_NOT_ALLOWED,
    PATH_NOT_CANONICAL,
    USAGE_ERROR,
    blocked,
    runtime,
    usage,
)
from domain.synora.ids import validate_package_id

INSTALLED = "installed"
QUARANTINED = "quarantined"
ROLLBACK_FAILED = "rollback_failed"
"""A rollback could not put every file back; `synora cleanup restore` finishes the job."""
PACKAGE_STATUSES = (INSTALLED, QUARANTINED, ROLLBACK_FAILED)


@dataclass(frozen=True, kw_only=True)
class PackageSpec:
    id: str
    name: str
    version: str
    install_path: str
    source: str = "local"
    risk_level: str = "medium"


def normalize_install_path(raw: str) -> str:
    """An absolute path without '..', normalised; the guard checks symlinks when it is used."""
    if "\x00" in raw or not raw.startswith("/"):
        raise usage(USAGE_ERROR, f"--install-path must be an absolute path, got {raw!r}")
    if ".." in raw.split("/"):
        raise blocked(PATH_NOT_CANONICAL, f"--install-path {raw!r} contains '..'", path=raw)
    path = os.path.normpath(raw)
    if path.startswith("//"):  # POSIX keeps a leading '//' as implementation-defined
        path = "/" + path.lstrip("/")
    if path == "/":
        raise blocked(PATH_NOT_ALLOWED, "the filesystem root cannot be a package", path=raw)
    return path


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate(spec: PackageSpec) -> PackageSpec:
    validate_package_id(spec.id)
    for field_name in ("name", "version", "source", "install_path"):
        # Bytes that are not UTF-8 reach us as lone surrogates (argv's surrogateescape);
        # the registry records text, so such a value is refused, not half-stored.
        if not _is_utf8(getattr(spec, field_name)):
            raise usage(USAGE_ERROR, f"--{field_name.replace('_', '-')} must be UTF-8 text")
    for field_name in ("name", "version", "source"):
        value = getattr(spec, field_name)
        if not value.strip() or len(value) > 200:
            raise usage(USAGE_ERROR, f"--{field_name} must be 1-200 characters")
    if spec.risk_level not in RISK_LEVELS:
        raise usage(USAGE_ERROR, f"--risk must be one of {', '.join(RISK_LEVELS)}")
    return PackageSpec(**{**asdict(spec), "install_path": normalize_install_path(
        spec.install_path)})


def package_dict(row: Any) -> dict[str, Any]:
    """A registry row as JSON (also the registry_backup blob)."""
    return {"id": row.id, "name": row.name, "version": row.version, "source": row.source,
            "install_path": row.install_path, "risk_level": row.risk_level,
            "status": row.status, "quarantine_operation_id": row.quarantine_operation_id,
            "created_at": iso_z(row.created_at), "updated_at": iso_z(row.updated_at)}


def add_package(db_path: Path, spec: PackageSpec) -> dict[str, Any]:
    from sqlalchemy import or_, select

    from store.models.synora import Software
    from store.synora_db import write_session

    spec = _validate(spec)
    now = utc_now()
    with write_session(db_path) as session:
        clash = session.scalars(select(Software).where(or_(
            Software.id == spec.id,
            (Software.name == spec.name) & (Software.source == spec.source)))).first()
        if clash is not None:
            raise runtime(PACKAGE_EXISTS, f"package {clash.id!r} already has this id or this "
                          f"name and source", package_id=clash.id)
        row = Software(**asdict(spec), status=INSTALLED, quarantine_operation_id=None,
                       created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return package_dict(row)


def list_packages(db_path: Path, status: str | None = None) -> list[dict[str, Any]]:
    from store.synora_reads import select_packages

    return [package_dict(row) for row in select_packages(db_path, status=status)]


def load_package(db_path: Path, package_id: str) -> dict[str, Any] | None:
    from store.synora_reads import select_packages

    found = select_packages(db_path, package_id=package_id)
    return package_dict(found[0]) if found else None


def show_package(db_path: Path, package_id: str) -> dict[str, Any]:
    validate_package_id(package_id)
    package = load_package(db_path, package_id)
    if package is None:
        raise runtime(PACKAGE_NOT_FOUND, f"no package {package_id!r} in the registry",
                      package_id=package_id)
    return package


def set_status(session: Any, package_id: str, status: str, operation_id: str | None) -> None:
    """Change a registry entry's state (the caller has backed it up first)."""
    from store.synora_writes import update_package_status

    if not update_package_status(session, package_id, status, operation_id, utc_now()):
        raise runtime(PACKAGE_NOT_FOUND, f"package {package_id!r} left the registry",
                      package_id=package_id)


def restore_entry(session: Any, snapshot: dict[str, Any]) -> None:
    """Write a backed-up registry entry back as it was."""
    from datetime import datetime

    from store.synora_writes import upsert_package

    values = dict(snapshot)
    for key in ("created_at", "updated_at"):
        values[key] = datetime.fromisoformat(snapshot[key].replace("Z", "+00:00"))
    upsert_package(session, values)
