"""What a quarantine operation left in quarantine, and moving a restore's files back.

Both `synora cleanup restore` (restore.py) and the recovery of an interrupted
operation (recovery.py) build on this; neither imports the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.synora import audit as rows
from domain.synora.audit import Audit
from domain.synora.failures import attempt
from domain.synora.faults import FaultHooks
from domain.synora.registry import restore_entry
from domain.synora.scan import DirItem, FileItem
from domain.synora.transfer import QUARANTINE_DIR_MODE, move_back, prune_dirs

IN_QUARANTINE = (rows.QUARANTINED, rows.ROLLBACK_FAILED)


@dataclass(frozen=True)
class Quarantined:
    """What one quarantine operation left in quarantine, from its rows."""

    root_mode: int
    dirs: tuple[DirItem, ...]
    files: tuple[FileItem, ...]


def load_quarantined(db_path: Path, operation_id: str) -> Quarantined:
    from store.synora_writes import fetch_tuples

    found = fetch_tuples(db_path, "SELECT kind, relative_path, size_bytes, mode, sha256, "
                         "outcome FROM quarantine WHERE operation_id = {p} ORDER BY id",
                         (operation_id,))
    root_mode = next((mode for kind, rel, _, mode, _, _ in found if kind == "dir" and rel == ""),
                     0o755)
    dirs = tuple(DirItem(rel, mode) for kind, rel, _, mode, _, _ in found
                 if kind == "dir" and rel)
    files = tuple(FileItem(rel, size, mode, 0, digest)
                  for kind, rel, size, mode, digest, outcome in found
                  if kind == "file" and outcome in IN_QUARANTINE)
    return Quarantined(root_mode, dirs, files)


def undo_restore(held: Quarantined, moved: list[FileItem], package: dict[str, Any], root: Path,
                 qdir: Path, audit: Audit, hooks: FaultHooks
                 ) -> tuple[bool, list[tuple[FileItem, str]]]:
    """Move the files a restore moved back into quarantine, put the registry entry back as
    it was, and record restore_rollback_success or _failed."""
    # only the folders that hold files exist in quarantine (empty ones are just rows)
    holding = {item.parts[:depth] for item in held.files for depth in range(1, len(item.parts))}
    quarantine_dirs = tuple(DirItem(d.rel, QUARANTINE_DIR_MODE) for d in held.dirs
                            if d.parts in holding)
    try:
        failures = move_back(moved, src=root, dst=qdir, root_mode=QUARANTINE_DIR_MODE,
                             dirs=quarantine_dirs, hooks=hooks)
    except OSError as error:
        failures = [(item, str(error)) for item in moved]
    if not failures:
        attempt(lambda: prune_dirs(root, held.dirs, include_root=True))

    def registry() -> None:
        with audit.transaction() as session:
            restore_entry(session, package)

    ok = attempt(registry) and not failures
    status = rows.RESTORE_ROLLBACK_SUCCESS if ok else rows.RESTORE_ROLLBACK_FAILED
    attempt(lambda: audit.status(status, details={
        "files_moved_back": len(moved) - len(failures),
        "failures": [f"{item.rel}: {reason}" for item, reason in failures[:20]]}))
    return ok, failures
