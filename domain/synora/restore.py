"""`synora cleanup restore`: bring a quarantined package's files back where they were.

Before anything moves, every quarantined file is checked against its recorded sha256
and every original location must be free (nothing is overwritten). Then, like a
quarantine in reverse: restore_confirmed, registry backup, the moves, the registry entry
back to installed, restore_success; a failure after the first move rolls the moved files
back into quarantine (restore_failed, then restore_rollback_success or _failed).
"""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from config.synora import SynoraSettings
from domain.synora import audit as rows
from domain.synora.audit import Audit
from domain.synora.errors import (
    INTEGRITY_MISMATCH,
    NOT_RESTORABLE,
    OPERATION_NOT_FOUND,
    PACKAGE_NOT_FOUND,
    RESTORE_CONFLICT,
    runtime,
)
from domain.synora.failures import attempt, classify
from domain.synora.faults import FaultHooks
from domain.synora.fsops import DirCursor, open_dir, stat_and_hash
from domain.synora.guard import check_restore_target
from domain.synora.held import IN_QUARANTINE, Quarantined, load_quarantined, undo_restore
from domain.synora.ids import new_operation_id, validate_operation_id
from domain.synora.locks import package_lock
from domain.synora.outcome import (
    MODE_CONFIRMED,
    REQUESTED_CONFIRM,
    ROLLBACK_FAILED,
    ROLLBACK_SUCCESS,
    Outcome,
)
from domain.synora.recovery import recover_into
from domain.synora.registry import (
    INSTALLED,
    QUARANTINED,
    load_package,
    set_status,
)
from domain.synora.registry import (
    ROLLBACK_FAILED as PACKAGE_ROLLBACK_FAILED,
)
from domain.synora.scan import FileItem
from domain.synora.transfer import (
    Transfer,
    by_folder,
    prune_dirs,
    recreate_dirs,
)


def find_package_of(db_path: Path, operation_id: str) -> str | None:
    from store.synora_writes import fetch

    found = fetch(db_path, "SELECT software_id FROM update_history WHERE operation_id = {p} "
                  "AND status = {p} ORDER BY id LIMIT 1",
                  (operation_id, rows.QUARANTINE_CONFIRMED))
    return str(found[0].software_id) if found else None


def _target_exists(cursor: DirCursor, item: FileItem) -> bool:
    try:
        parent = cursor.enter(item.parts[:-1])
    except FileNotFoundError:
        return False
    try:
        os.stat(item.parts[-1], dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _check_conflicts(root: Path, files: tuple[FileItem, ...]) -> None:
    if not root.exists():
        return
    root_fd = open_dir(root)
    cursor = DirCursor(root_fd)
    try:
        for item in files:
            if _target_exists(cursor, item):
                raise runtime(RESTORE_CONFLICT, f"{root / item.rel} exists; a restore never "
                              "overwrites, nothing was moved", path=str(root / item.rel))
    finally:
        cursor.close()
        os.close(root_fd)


def _verify(qdir: Path, files: tuple[FileItem, ...]) -> tuple[FileItem, ...]:
    """Every file to restore is in quarantine with the bytes it had when it went in.

    Returns the files with the inode whose bytes were checked, so that the move checks it
    moves that very file (a swap after the check fails the move instead of restoring it).
    """
    try:
        qdir_fd = open_dir(qdir)
    except FileNotFoundError:
        raise runtime(INTEGRITY_MISMATCH, f"{qdir} is missing") from None
    cursor = DirCursor(qdir_fd)
    checked: list[FileItem] = []
    try:
        for parent, cut, group in by_folder(files):
            folder: int | None = None  # entered at its first file (a missing one says so)
            for item in group:
                try:
                    if folder is None:
                        folder = cursor.enter(parent)
                    st, digest = stat_and_hash(folder, item.rel[cut:])
                except OSError as exc:
                    reason = "missing" if exc.errno == errno.ENOENT else str(exc)
                    raise runtime(INTEGRITY_MISMATCH, f"{qdir / item.rel}: {reason}; nothing "
                                  "was moved", path=str(qdir / item.rel)) from None
                if digest != item.sha256:
                    raise runtime(INTEGRITY_MISMATCH, f"{qdir / item.rel} changed in "
                                  "quarantine (sha256 differs); nothing was moved",
                                  path=str(qdir / item.rel))
                checked.append(FileItem(item.rel, item.size, item.mode, st.st_ino, item.sha256))
    finally:
        cursor.close()
        os.close(qdir_fd)
    return tuple(checked)


def restore(operation_id: str, settings: SynoraSettings) -> Outcome:
    """Restore what quarantine operation ``operation_id`` moved. Raises SynoraError only
    for a malformed id; afterwards every ending is an Outcome."""
    quarantine_op = validate_operation_id(operation_id)
    out = Outcome(operation_id=new_operation_id(), package_id=None,
                  requested_mode=REQUESTED_CONFIRM, mode=MODE_CONFIRMED,
                  status=rows.RESTORE_CONFIRMED)
    out.extra["quarantine_operation_id"] = quarantine_op
    audits: list[Audit] = []  # empty until the operation's package is known
    try:
        _run(quarantine_op, settings, out, audits)
    except BaseException as exc:
        code, exit_code, message = classify(exc)
        out.fail(rows.RESTORE_FAILED, code, message, exit_code)
        if exit_code == 10:
            out.unexpected = exc
        if audits:  # the operation was found and its first row written
            audit = audits[0]
            attempt(lambda: audit.status(rows.RESTORE_FAILED, message=message,
                                         details={"error_code": code}))
    out.audit_rows_written = sum(audit.rows_written for audit in audits)
    out.mention_recovered()
    return out


def _run(quarantine_op: str, settings: SynoraSettings, out: Outcome,
         audits: list[Audit]) -> None:
    package_id = find_package_of(settings.db_path, quarantine_op)
    if package_id is None:
        raise runtime(OPERATION_NOT_FOUND, f"no quarantine operation {quarantine_op}")
    out.package_id = package_id
    audit = Audit(settings.db_path, out.operation_id, package_id)
    audit.status(rows.RESTORE_CONFIRMED, details={"quarantine_operation_id": quarantine_op})
    audits.append(audit)
    with package_lock(settings.locks_dir, package_id):
        recover_into(out, audit, settings, package_id)
        package = load_package(settings.db_path, package_id)
        if package is None:
            raise runtime(PACKAGE_NOT_FOUND, f"package {package_id!r} left the registry")
        if (package["status"] not in (QUARANTINED, PACKAGE_ROLLBACK_FAILED)
                or package["quarantine_operation_id"] != quarantine_op):
            raise runtime(NOT_RESTORABLE, f"operation {quarantine_op} has nothing in quarantine "
                          f"(package {package_id!r} is {package['status']})")
        root = check_restore_target(package["install_path"], settings)
        qdir = settings.quarantine_dir / quarantine_op
        out.precheck_paths = [str(qdir), str(root)]
        held = load_quarantined(settings.db_path, quarantine_op)
        held = replace(held, files=_verify(qdir, held.files))
        _check_conflicts(root, held.files)
        out.extra.update({"install_path": str(root), "quarantine_path": str(qdir),
                          "files": len(held.files),
                          "bytes": sum(item.size for item in held.files)})
        _execute(held, package, root, qdir, settings, out, audit)


def _execute(held: Quarantined, package: dict[str, Any], root: Path, qdir: Path,
             settings: SynoraSettings, out: Outcome, audit: Audit) -> None:
    hooks = FaultHooks(settings.faults)
    with audit.transaction() as session:
        audit.backup(session, package)
    transfer = Transfer(src=qdir, dst=root, files=held.files, hooks=hooks,
                        dst_modes={d.parts: d.mode for d in held.dirs},
                        dst_root_mode=held.root_mode)
    out.mutation_boundary_reached = True  # recreating the folders is the first change
    try:
        recreate_dirs(root, held.root_mode, held.dirs)
        transfer.run()
        prune_dirs(qdir, held.dirs, include_root=True)
        with audit.transaction() as session:
            set_status(session, package["id"], INSTALLED, None)
        hooks.after_registry()
        with audit.transaction() as session:
            audit.set_outcome(session, rows.RESTORED, operation_id=package[
                "quarantine_operation_id"], where_outcome=IN_QUARANTINE)
            audit.status(rows.RESTORE_SUCCESS, session=session,
                         details={"quarantine_operation_id": package["quarantine_operation_id"],
                                  "files": len(held.files)})
    except BaseException as exc:
        _roll_back(exc, held, transfer.moved, package, root, qdir, out, audit, hooks)
        return
    out.status = rows.RESTORE_SUCCESS
    out.message = f"restored {len(held.files)} file(s) from {qdir} to {root}"


def _roll_back(exc: BaseException, held: Quarantined, moved: list[FileItem],
               package: dict[str, Any], root: Path, qdir: Path, out: Outcome, audit: Audit,
               hooks: FaultHooks) -> None:
    """A failure after the boundary: restore_failed, then undo what this restore moved."""
    code, exit_code, cause = classify(exc)
    if exit_code == 10:
        out.unexpected = exc
    out.rollback_attempted = True
    attempt(lambda: audit.status(rows.RESTORE_FAILED, message=cause,
                                 details={"error_code": code, "files_moved": len(moved)}))
    ok, failures = undo_restore(held, moved, package, root, qdir, audit, hooks)
    out.fail(rows.RESTORE_ROLLBACK_SUCCESS if ok else rows.RESTORE_ROLLBACK_FAILED, code,
             f"{cause}; " + (
                 f"rolled back: the {len(moved)} restored file(s) are back in quarantine" if ok
                 else f"rollback failed: {len(failures)} file(s) stayed in {root}"), exit_code)
    out.rollback_status = ROLLBACK_SUCCESS if ok else ROLLBACK_FAILED
