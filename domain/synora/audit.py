"""One operation's audit rows: lifecycle statuses, backup evidence, per-file outcomes.

Every insert is counted, so `audit_rows_written` is the number of rows this operation
really wrote (updates of a row's outcome are not new rows and are not counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common.clock import utc_now
from domain.synora.scan import Plan

# update_history.status: the contract's vocabulary, additive to the older
# planned_dry_run / planned_confirmed (which stay valid for rows written before it).
PLANNED_DRY_RUN = "planned_dry_run"
PLANNED_CONFIRMED = "planned_confirmed"
QUARANTINE_PLANNED = "quarantine_planned"
QUARANTINE_CONFIRMED = "quarantine_confirmed"
QUARANTINE_SUCCESS = "quarantine_success"
QUARANTINE_FAILED = "quarantine_failed"
QUARANTINE_ROLLBACK_SUCCESS = "quarantine_rollback_success"
QUARANTINE_ROLLBACK_FAILED = "quarantine_rollback_failed"
RESTORE_CONFIRMED = "restore_confirmed"
RESTORE_SUCCESS = "restore_success"
RESTORE_FAILED = "restore_failed"
RESTORE_ROLLBACK_SUCCESS = "restore_rollback_success"
RESTORE_ROLLBACK_FAILED = "restore_rollback_failed"
STATUSES = (PLANNED_DRY_RUN, PLANNED_CONFIRMED, QUARANTINE_PLANNED, QUARANTINE_CONFIRMED,
            QUARANTINE_SUCCESS, QUARANTINE_FAILED, QUARANTINE_ROLLBACK_SUCCESS,
            QUARANTINE_ROLLBACK_FAILED, RESTORE_CONFIRMED, RESTORE_SUCCESS, RESTORE_FAILED,
            RESTORE_ROLLBACK_SUCCESS, RESTORE_ROLLBACK_FAILED)

# quarantine.outcome
PENDING = "pending"
QUARANTINED = "quarantined"
NOT_MOVED = "not_moved"
ROLLED_BACK = "rolled_back"
ROLLBACK_FAILED = "rollback_failed"
RESTORED = "restored"

REGISTRY_HIVE = "synora"


class Audit:
    """Writes the rows of one operation on one package."""

    def __init__(self, db_path: Path, operation_id: str, package_id: str) -> None:
        self.db_path = db_path
        self.operation_id = operation_id
        self.package_id = package_id
        self.rows_written = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction through the driver (store/synora_writes.py): no SQLAlchemy
        on an operation's path."""
        from store.synora_writes import write_transaction

        with write_transaction(self.db_path) as cursor:
            yield cursor

    def status(self, status: str, *, message: str | None = None,
               details: dict[str, Any] | None = None, version: str | None = None,
               session: Any = None) -> None:
        """Append one lifecycle row (in ``session`` if given, else in its own transaction)."""
        if session is None:
            with self.transaction() as own:
                self.status(status, message=message, details=details, version=version,
                            session=own)
            return
        from store.synora_writes import insert_status

        insert_status(session, operation_id=self.operation_id, software_id=self.package_id,
                      old_version=version, status=status, message=message, details=details,
                      timestamp=utc_now())
        self.rows_written += 1

    def backup(self, session: Any, snapshot: dict[str, Any]) -> None:
        """The registry entry as it is, before anything changes it."""
        from store.synora_writes import insert_backup

        insert_backup(session, operation_id=self.operation_id, software_id=self.package_id,
                      hive=REGISTRY_HIVE, key_path=f"software/{self.package_id}",
                      blob=json.dumps(snapshot), timestamp=utc_now())
        self.rows_written += 1

    def candidates(self, session: Any, plan: Plan, quarantine_root: Path) -> None:
        """One row per folder and file to move, with its original place and sha256."""
        from store.synora_writes import insert_candidates

        now = session.driver.moment(utc_now())
        # Plain strings and tuples: this runs once per file (10,000 in the benchmark).
        source, target = str(plan.root), str(quarantine_root)
        op, software = self.operation_id, self.package_id
        reason = "cleanup quarantine"
        rows: list[tuple[Any, ...]] = [(op, software, "dir", "", target, source, 0,
                                        plan.root_mode, None, PENDING, reason, now)]
        rows += [(op, software, "dir", d.rel, f"{target}/{d.rel}", f"{source}/{d.rel}", 0,
                  d.mode, None, PENDING, reason, now) for d in plan.dirs]
        rows += [(op, software, "file", f.rel, f"{target}/{f.rel}", f"{source}/{f.rel}",
                  f.size, f.mode, f.sha256, PENDING, reason, now) for f in plan.files]
        insert_candidates(session, rows)  # one executemany, in the caller's transaction
        self.rows_written += len(rows)

    def set_outcome(self, session: Any, outcome: str, *, operation_id: str | None = None,
                    relative_paths: Iterable[str] | None = None, kind: str | None = None,
                    where_outcome: Iterable[str] | None = None) -> None:
        """Set-based outcome update of this (or another) operation's rows."""
        from store.synora_writes import update_outcomes

        update_outcomes(session, outcome, operation_id=operation_id or self.operation_id,
                        kind=kind,
                        where_outcome=None if where_outcome is None else list(where_outcome),
                        relative_paths=None if relative_paths is None else list(relative_paths))
