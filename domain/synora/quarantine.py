"""`synora cleanup quarantine`: plan, check, move a package into quarantine, or roll back.

Sequence (docs/synora.md): the intent row (quarantine_planned or quarantine_confirmed);
the guard; under the package lock, the backup evidence (registry_backup and one
quarantine row per folder and file, with sha256); the moves (the mutation boundary is the
first one); pruning the emptied folders; the registry entry; the terminal row
(quarantine_success or quarantine_failed); after the boundary, the rollback and its row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.synora import SynoraSettings
from domain.synora import audit as rows
from domain.synora.audit import Audit
from domain.synora.errors import (
    PACKAGE_NOT_FOUND,
    PACKAGE_NOT_INSTALLED,
    runtime,
)
from domain.synora.failures import attempt, classify
from domain.synora.faults import FaultHooks
from domain.synora.fsops import ensure_dir, open_dir
from domain.synora.guard import check_install_path, check_risk, effective_risk
from domain.synora.ids import new_operation_id, validate_package_id
from domain.synora.locks import package_lock
from domain.synora.outcome import (
    MODE_CONFIRMED,
    MODE_PLAN_ONLY,
    REQUESTED_CONFIRM,
    REQUESTED_DRY_RUN,
    ROLLBACK_FAILED,
    ROLLBACK_SUCCESS,
    Outcome,
)
from domain.synora.recovery import recover_into
from domain.synora.registry import INSTALLED, QUARANTINED, load_package, set_status
from domain.synora.rollback import RollbackResult, roll_back_quarantine
from domain.synora.scan import Plan, scan_tree
from domain.synora.transfer import QUARANTINE_DIR_MODE, Transfer, prune_dirs


@dataclass(frozen=True, kw_only=True)
class QuarantineRequest:
    package_id: str
    confirm: bool
    risk: str | None = None


def quarantine(request: QuarantineRequest, settings: SynoraSettings) -> Outcome:
    """Run one quarantine operation. Raises SynoraError only before an operation exists
    (a malformed id); afterwards every ending is an Outcome."""
    validate_package_id(request.package_id)
    out = Outcome(operation_id=new_operation_id(), package_id=request.package_id,
                  requested_mode=REQUESTED_CONFIRM if request.confirm else REQUESTED_DRY_RUN,
                  mode=MODE_CONFIRMED if request.confirm else MODE_PLAN_ONLY,
                  status=(rows.QUARANTINE_CONFIRMED if request.confirm
                          else rows.QUARANTINE_PLANNED))
    audit = Audit(settings.db_path, out.operation_id, request.package_id)
    try:
        _run(request, settings, out, audit)
    except BaseException as exc:  # before the boundary: nothing moved, nothing to undo
        code, exit_code, message = classify(exc)
        out.fail(rows.QUARANTINE_FAILED, code, message, exit_code)
        if code == "INTERNAL_ERROR":
            out.unexpected = exc
        attempt(lambda: audit.status(rows.QUARANTINE_FAILED, message=message,
                                     details={"error_code": code}))
    out.audit_rows_written = audit.rows_written
    out.mention_recovered()
    return out


def _run(request: QuarantineRequest, settings: SynoraSettings, out: Outcome,
         audit: Audit) -> None:
    package = load_package(settings.db_path, request.package_id)
    audit.status(out.status, version=package["version"] if package else None,
                 details={"requested_mode": out.requested_mode, "risk": request.risk})
    if package is None:
        raise runtime(PACKAGE_NOT_FOUND, f"no package {request.package_id!r} in the registry")
    if not request.confirm:  # a confirm checks under the lock, after any recovery
        _require_installed(package)
    risk = effective_risk(package["risk_level"], request.risk)
    out.extra["risk_level"] = risk
    check_risk(risk, request.confirm)
    qdir = settings.quarantine_dir / out.operation_id
    out.precheck_paths = [package["install_path"], str(qdir)]
    if not request.confirm:
        root = check_install_path(package["install_path"], settings)
        plan = scan_tree(root, hashes=False)
        _describe(out, plan, qdir)
        out.message = (f"dry run: {len(plan.files)} file(s), {plan.total_bytes} bytes would "
                       f"move from {root} to {qdir}; nothing was changed")
        return
    with package_lock(settings.locks_dir, request.package_id):
        recover_into(out, audit, settings, request.package_id)
        package = load_package(settings.db_path, request.package_id)
        if package is None:
            raise runtime(PACKAGE_NOT_FOUND, f"package {request.package_id!r} left the registry")
        _require_installed(package)
        # every check of the files runs under the lock: another process's move must not
        # be mistaken for a missing or changed package
        root = check_install_path(package["install_path"], settings)
        out.precheck_paths = [str(root), str(qdir)]
        plan = scan_tree(root, hashes=True)
        _describe(out, plan, qdir)
        _execute(plan, package, qdir, settings, out, audit)


def _require_installed(package: dict[str, Any]) -> None:
    if package["status"] != INSTALLED:
        raise runtime(PACKAGE_NOT_INSTALLED,
                      f"package {package['id']!r} is {package['status']} (operation "
                      f"{package['quarantine_operation_id']}); nothing was changed")


def _describe(out: Outcome, plan: Plan, qdir: Path) -> None:
    out.extra.update({"install_path": str(plan.root), "quarantine_path": str(qdir),
                      "files": len(plan.files), "bytes": plan.total_bytes})


def _make_operation_dir(settings: SynoraSettings, qdir: Path) -> None:
    os.makedirs(settings.quarantine_dir, mode=QUARANTINE_DIR_MODE, exist_ok=True)
    root_fd = open_dir(settings.quarantine_dir)
    try:
        os.close(ensure_dir(root_fd, qdir.name, QUARANTINE_DIR_MODE))
    finally:
        os.close(root_fd)


class _Progress:
    """Whether the mutation boundary has been crossed (a file moved, a folder removed)."""

    def __init__(self, transfer: Transfer) -> None:
        self.transfer = transfer
        self.pruning = False

    @property
    def boundary(self) -> bool:
        return self.pruning or bool(self.transfer.moved)


def _execute(plan: Plan, package: dict[str, Any], qdir: Path, settings: SynoraSettings,
             out: Outcome, audit: Audit) -> None:
    hooks = FaultHooks(settings.faults)
    with audit.transaction() as session:
        audit.backup(session, package)
        audit.candidates(session, plan, qdir)
    _make_operation_dir(settings, qdir)
    transfer = Transfer(src=plan.root, dst=qdir, files=plan.files, hooks=hooks)
    progress = _Progress(transfer)
    try:
        transfer.run()
        progress.pruning = True
        left = prune_dirs(plan.root, plan.dirs, include_root=True)
        with audit.transaction() as session:
            set_status(session, package["id"], QUARANTINED, out.operation_id)
        hooks.after_registry()
        with audit.transaction() as session:
            audit.set_outcome(session, rows.QUARANTINED)
            audit.status(rows.QUARANTINE_SUCCESS, session=session, version=package["version"],
                         details={"files": len(plan.files), "bytes": plan.total_bytes,
                                  "folders_left_in_place": left})
    except BaseException as exc:
        if not progress.boundary:
            attempt(lambda: prune_dirs(qdir, plan.dirs, include_root=True))
            attempt(lambda: _mark_not_moved(audit))
            raise  # quarantine() reports it as a failure before the boundary
        _fail_after_boundary(exc, plan, transfer.moved, package, qdir, settings, out, audit)
        return
    out.mutation_boundary_reached = True
    out.status = rows.QUARANTINE_SUCCESS
    out.message = (f"quarantined {len(plan.files)} file(s), {plan.total_bytes} bytes, from "
                   f"{plan.root} into {qdir}")
    if left:
        out.message += f"; {len(left)} folder(s) kept because new files appeared in them"


def _mark_not_moved(audit: Audit) -> None:
    with audit.transaction() as session:
        audit.set_outcome(session, rows.NOT_MOVED)


def _fail_after_boundary(exc: BaseException, plan: Plan, moved: list[Any],
                         package: dict[str, Any], qdir: Path, settings: SynoraSettings,
                         out: Outcome, audit: Audit) -> None:
    """Persist quarantine_failed, roll back (mandatory), persist the rollback's status."""
    code, exit_code, cause = classify(exc)
    out.mutation_boundary_reached = True
    out.rollback_attempted = True
    if exit_code == 10:
        out.unexpected = exc
    attempt(lambda: audit.status(rows.QUARANTINE_FAILED, message=cause, details={
        "error_code": code, "files_moved": len(moved)}))
    result: RollbackResult = roll_back_quarantine(
        plan=plan, moved=moved, package=package, qdir=qdir, audit=audit,
        hooks=FaultHooks(settings.faults))
    if result.ok:
        out.fail(rows.QUARANTINE_ROLLBACK_SUCCESS, code,
                 f"{cause}; rolled back: all {len(moved)} moved file(s) are back in "
                 f"{plan.root} and the registry entry is restored", exit_code)
        out.rollback_status = ROLLBACK_SUCCESS
    else:
        out.fail(rows.QUARANTINE_ROLLBACK_FAILED, code,
                 f"{cause}; rollback failed: {result.summary()}; finish it with `synora "
                 f"cleanup restore --operation-id {out.operation_id}`", exit_code)
        out.rollback_status = ROLLBACK_FAILED
