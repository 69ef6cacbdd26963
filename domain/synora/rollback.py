"""Undoing a quarantine that failed after the mutation boundary.

Every moved file goes back (best effort: one failure does not stop the others), the
folders are recreated with their recorded modes, the registry entry is written back from
its backup, and the per-file outcomes and the rollback's status are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.synora import audit as rows
from domain.synora.audit import Audit
from domain.synora.failures import attempt
from domain.synora.faults import FaultHooks
from domain.synora.registry import ROLLBACK_FAILED, restore_entry, set_status
from domain.synora.scan import FileItem, Plan
from domain.synora.transfer import move_back, prune_dirs

LISTED_FAILURES = 20


@dataclass
class RollbackResult:
    failures: list[tuple[FileItem, str]]
    registry_restored: bool

    @property
    def ok(self) -> bool:
        return not self.failures and self.registry_restored

    def summary(self) -> str:
        parts = []
        if self.failures:
            first, reason = self.failures[0]
            parts.append(f"{len(self.failures)} file(s) could not be moved back "
                         f"(first: {first.rel}: {reason})")
        if not self.registry_restored:
            parts.append("the registry entry could not be restored")
        return "; ".join(parts)


def _move_back(moved: list[FileItem], plan: Plan, qdir: Path,
               hooks: FaultHooks) -> list[tuple[FileItem, str]]:
    try:
        return move_back(moved, src=qdir, dst=plan.root, root_mode=plan.root_mode,
                         dirs=plan.dirs, hooks=hooks)
    except OSError as exc:  # a folder could not be opened or made: nothing went back
        return [(item, f"{type(exc).__name__}: {exc}") for item in moved]


def _restore_registry(audit: Audit, package: dict[str, Any], failed: bool) -> None:
    with audit.transaction() as session:
        restore_entry(session, package)
        if failed:  # the files are split between both places: say so in the registry
            set_status(session, package["id"], ROLLBACK_FAILED, audit.operation_id)


def _record(audit: Audit, moved: list[FileItem], failures: list[tuple[FileItem, str]],
            status: str) -> None:
    failed = {item.rel for item, _ in failures}
    with audit.transaction() as session:
        audit.set_outcome(session, rows.NOT_MOVED, kind="file", where_outcome=[rows.PENDING])
        audit.set_outcome(session, rows.ROLLED_BACK,
                          relative_paths=[item.rel for item in moved if item.rel not in failed])
        audit.set_outcome(session, rows.ROLLBACK_FAILED, relative_paths=sorted(failed))
        audit.set_outcome(session, rows.ROLLED_BACK, kind="dir")
        audit.status(status, session=session, details={
            "files_moved_back": len(moved) - len(failed), "files_not_moved_back": len(failed),
            "failures": [f"{item.rel}: {reason}" for item, reason in failures[:LISTED_FAILURES]]})


def roll_back_quarantine(*, plan: Plan, moved: list[FileItem], package: dict[str, Any],
                         qdir: Path, audit: Audit, hooks: FaultHooks) -> RollbackResult:
    failures = _move_back(moved, plan, qdir, hooks)
    if not failures:
        attempt(lambda: prune_dirs(qdir, plan.dirs, include_root=True))
    registry_ok = attempt(lambda: _restore_registry(audit, package, bool(failures)))
    result = RollbackResult(failures, registry_ok)
    status = rows.QUARANTINE_ROLLBACK_SUCCESS if result.ok else rows.QUARANTINE_ROLLBACK_FAILED
    attempt(lambda: _record(audit, moved, failures, status))
    return result
