"""What one operation reports: the contract's fields, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.synora.errors import EXIT_OK

REQUESTED_DRY_RUN = "dry-run"
REQUESTED_CONFIRM = "confirm"
MODE_PLAN_ONLY = "plan-only"
MODE_CONFIRMED = "confirmed-execution"
ROLLBACK_NOT_NEEDED = "not_needed"
ROLLBACK_SUCCESS = "success"
ROLLBACK_FAILED = "failed"


@dataclass(kw_only=True)
class Outcome:
    operation_id: str
    package_id: str | None
    requested_mode: str
    mode: str
    status: str
    message: str = ""
    mutation_boundary_reached: bool = False
    rollback_attempted: bool = False
    rollback_status: str = ROLLBACK_NOT_NEEDED
    exit_code: int = EXIT_OK
    error_code: str | None = None
    audit_rows_written: int = 0
    precheck_paths: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields beyond the contract's minimum (risk_level, files, bytes, quarantine_path...)."""
    unexpected: BaseException | None = None
    """An unexpected error behind exit 10; the CLI logs its traceback."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "operation_id": self.operation_id,
            "package_id": self.package_id,
            "requested_mode": self.requested_mode,
            "mode": self.mode,
            "status": self.status,
            "mutation_boundary_reached": self.mutation_boundary_reached,
            "rollback_attempted": self.rollback_attempted,
            "rollback_status": self.rollback_status,
            "message": self.message,
        }
        data.update(self.extra)
        data["audit_rows_written"] = self.audit_rows_written
        data["error_code"] = self.error_code
        return data

    def mention_recovered(self) -> None:
        """Say first which interrupted operations were rolled back on the way."""
        recovered = self.extra.get("recovered_operations")
        if recovered:
            self.message = (f"first rolled back interrupted operation(s) "
                            f"{', '.join(recovered)}; {self.message}")

    def fail(self, status: str, code: str, message: str, exit_code: int) -> None:
        self.status, self.error_code, self.message, self.exit_code = (
            status, code, message, exit_code)
