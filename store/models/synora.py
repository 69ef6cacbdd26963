"""Synora's tables. They live in Synora's own SQLite database ($SYNORA_HOME/db/synora.db),
so they hang off their own metadata, not Conveyor's Base (whose tables are the jobs
database's; keeping them apart stops either migration environment from seeing the other's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.models.base import NAMING_CONVENTION, UTCDateTime


class SynoraBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Software(SynoraBase):
    """The registry: one row per installed package Synora manages."""

    __tablename__ = "software"
    __table_args__ = (UniqueConstraint("name", "source", name="uq_software_name_source"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    install_path: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    """installed, quarantined, or rollback_failed (files split between both places)."""
    quarantine_operation_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UpdateHistory(SynoraBase):
    """Lifecycle transitions of every operation, in the order they happened (by id)."""

    __tablename__ = "update_history"
    __table_args__ = (Index("ix_update_history_operation_id", "operation_id"),
                      Index("ix_update_history_software_id", "software_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(36))
    software_id: Mapped[str] = mapped_column(String(128))
    old_version: Mapped[str | None] = mapped_column(String(64))
    new_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())


class QuarantineEntry(SynoraBase):
    """One file or folder of a quarantine operation: where it was, where it is, its sha256."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_operation_id", "operation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(36))
    software_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    """file or dir."""
    relative_path: Mapped[str] = mapped_column(Text)
    file_path: Mapped[str] = mapped_column(Text)
    """Its place inside $SYNORA_HOME/quarantine/<operation_id>/."""
    original_location: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24))
    """pending, quarantined, rolled_back, rollback_failed, restored."""
    reason: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())


class RegistryBackup(SynoraBase):
    """A registry entry as it was before an operation changed it (JSON in backup_blob)."""

    __tablename__ = "registry_backup"
    __table_args__ = (Index("ix_registry_backup_operation_id", "operation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(36))
    software_id: Mapped[str] = mapped_column(String(128))
    hive: Mapped[str] = mapped_column(String(32))
    key_path: Mapped[str] = mapped_column(Text)
    backup_blob: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
