"""Finishing operations whose process died mid-way (killed, power lost).

An operation that wrote its backup evidence but no final row, found while we hold its
package's lock, belongs to a process that is gone (that process held the lock). It is
rolled back exactly as a failure would have been: the filesystem says which files had
moved, the rows say where each belongs and what its bytes were.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.synora import SynoraSettings
from domain.synora import audit as rows
from domain.synora.audit import Audit
from domain.synora.errors import INTERRUPTED
from domain.synora.faults import FaultHooks
from domain.synora.fsops import DirCursor, hash_file, open_dir
from domain.synora.held import Quarantined, load_quarantined, undo_restore
from domain.synora.rollback import roll_back_quarantine
from domain.synora.scan import DirItem, FileItem, Plan

FINAL = {rows.QUARANTINE_SUCCESS, rows.QUARANTINE_ROLLBACK_SUCCESS,
         rows.QUARANTINE_ROLLBACK_FAILED, rows.RESTORE_SUCCESS, rows.RESTORE_ROLLBACK_SUCCESS,
         rows.RESTORE_ROLLBACK_FAILED}
FAILED = {rows.QUARANTINE_FAILED, rows.RESTORE_FAILED}
INTERRUPTED_MESSAGE = "interrupted: the process ended in the middle of the operation"


@dataclass(frozen=True)
class Interrupted:
    operation_id: str
    kind: str
    """quarantine or restore."""
    snapshot: dict[str, Any]
    """The registry entry as it was before the operation (its registry_backup)."""
    failed_written: bool
    quarantine_operation_id: str | None


def _unfinished(history: list[Any]) -> tuple[str, bool] | None:
    """(kind, failed row written) if these rows of one operation never reached an end."""
    statuses = [row.status for row in history]
    if statuses[0] not in (rows.QUARANTINE_CONFIRMED, rows.RESTORE_CONFIRMED):
        return None
    if FINAL & set(statuses):
        return None
    failed = [row for row in history if row.status in FAILED]
    if failed and "files_moved" not in (failed[-1].details or {}):
        return None  # it failed before the boundary: complete, nothing to undo
    kind = "quarantine" if statuses[0] == rows.QUARANTINE_CONFIRMED else "restore"
    return kind, bool(failed)


def find_interrupted(db_path: Path, package_id: str) -> list[Interrupted]:
    from store.synora_writes import fetch, history_of

    backups = {b.operation_id: b.backup_blob for b in fetch(
        db_path, "SELECT operation_id, backup_blob FROM registry_backup WHERE software_id = {p} "
        "ORDER BY id", (package_id,))}
    history = history_of(db_path, list(backups))
    found = []
    for operation_id, blob in backups.items():
        mine = [row for row in history if row.operation_id == operation_id]
        state = _unfinished(mine) if mine else None
        if state is not None:
            details = mine[0].details or {}
            found.append(Interrupted(operation_id, state[0], json.loads(blob), state[1],
                                     details.get("quarantine_operation_id")))
    return found


def _present(cursor: DirCursor, item: FileItem) -> bool:
    try:
        parent = cursor.enter(item.parts[:-1])
        os.stat(item.parts[-1], dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _where_files_are(files: tuple[FileItem, ...], here: Path, there: Path
                     ) -> list[FileItem]:
    """Files found in ``here``; a file in both places (a copy cut short) keeps the intact
    one in ``there`` and loses the copy in ``here``."""
    if not here.exists():
        return []
    found: list[FileItem] = []
    here_fd = open_dir(here)
    there_fd = open_dir(there) if there.exists() else None
    here_cursor = DirCursor(here_fd)
    there_cursor = DirCursor(there_fd) if there_fd is not None else None
    try:
        for item in files:
            if not _present(here_cursor, item):
                continue
            if there_cursor is not None and _present(there_cursor, item):
                parent = there_cursor.enter(item.parts[:-1])
                if hash_file(parent, item.parts[-1]) == item.sha256:
                    os.unlink(item.parts[-1], dir_fd=here_cursor.enter(item.parts[:-1]))
                    continue
            found.append(item)
    finally:
        here_cursor.close()
        os.close(here_fd)
        if there_cursor is not None and there_fd is not None:
            there_cursor.close()
            os.close(there_fd)
    return found


def _all_rows(db_path: Path, operation_id: str) -> Plan:
    """The plan a quarantine recorded (every folder and file, whatever its outcome)."""
    from store.synora_writes import fetch

    found = fetch(db_path, "SELECT kind, relative_path, original_location, size_bytes, mode, "
                  "sha256 FROM quarantine WHERE operation_id = {p} ORDER BY id",
                  (operation_id,))
    root = next(r for r in found if r.kind == "dir" and r.relative_path == "")
    return Plan(root=Path(root.original_location), root_mode=root.mode,
                dirs=tuple(DirItem(r.relative_path, r.mode) for r in found
                           if r.kind == "dir" and r.relative_path),
                files=tuple(FileItem(r.relative_path, r.size_bytes, r.mode, 0, r.sha256)
                            for r in found if r.kind == "file"))


def _recover_quarantine(item: Interrupted, settings: SynoraSettings, audit: Audit,
                        hooks: FaultHooks) -> None:
    plan = _all_rows(settings.db_path, item.operation_id)
    qdir = settings.quarantine_dir / item.operation_id
    moved = _where_files_are(plan.files, qdir, plan.root)
    if not item.failed_written:
        audit.status(rows.QUARANTINE_FAILED, message=INTERRUPTED_MESSAGE,
                     details={"error_code": INTERRUPTED, "files_moved": len(moved)})
    roll_back_quarantine(plan=plan, moved=moved, package=item.snapshot, qdir=qdir,
                         audit=audit, hooks=hooks)


def _recover_restore(item: Interrupted, settings: SynoraSettings, audit: Audit,
                     hooks: FaultHooks) -> None:
    quarantine_op = str(item.quarantine_operation_id)
    held: Quarantined = load_quarantined(settings.db_path, quarantine_op)
    root = Path(item.snapshot["install_path"])
    qdir = settings.quarantine_dir / quarantine_op
    moved = _where_files_are(held.files, root, qdir)
    if not item.failed_written:
        audit.status(rows.RESTORE_FAILED, message=INTERRUPTED_MESSAGE,
                     details={"error_code": INTERRUPTED, "files_moved": len(moved)})
    undo_restore(held, moved, item.snapshot, root, qdir, audit, hooks)


def recover_interrupted(settings: SynoraSettings, package_id: str) -> tuple[list[str], int]:
    """Roll back every interrupted operation of the package (hold its lock!).

    Returns their ids and the number of audit rows written.
    """
    hooks = FaultHooks(settings.faults)
    recovered, written = [], 0
    for item in find_interrupted(settings.db_path, package_id):
        audit = Audit(settings.db_path, item.operation_id, package_id)
        if item.kind == "quarantine":
            _recover_quarantine(item, settings, audit, hooks)
        else:
            _recover_restore(item, settings, audit, hooks)
        recovered.append(item.operation_id)
        written += audit.rows_written
    return recovered, written



def recover_into(out: Any, audit: Audit, settings: SynoraSettings, package_id: str) -> None:
    """Recover under the lock and say so in the current operation's outcome."""
    recovered, written = recover_interrupted(settings, package_id)
    audit.rows_written += written
    if recovered:
        out.extra["recovered_operations"] = recovered
