"""Synora's exit codes and error codes (docs/synora.md lists them)."""

from __future__ import annotations

from typing import Any

from common.errors import ContractError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SECURITY = 3
EXIT_RUNTIME = 4
EXIT_INTERNAL = 10

# exit 2
USAGE_ERROR = "USAGE_ERROR"
INVALID_PACKAGE_ID = "INVALID_PACKAGE_ID"
INVALID_OPERATION_ID = "INVALID_OPERATION_ID"
# exit 3: the security guard said no; nothing was touched
UNSAFE_PACKAGE_ID = "UNSAFE_PACKAGE_ID"
RISK_REQUIRES_CONFIRM = "RISK_REQUIRES_CONFIRM"
PATH_NOT_CANONICAL = "PATH_NOT_CANONICAL"
PATH_NOT_ALLOWED = "PATH_NOT_ALLOWED"
SYMLINK_BLOCKED = "SYMLINK_BLOCKED"
UNSUPPORTED_ENTRY = "UNSUPPORTED_ENTRY"
# exit 4
PACKAGE_NOT_FOUND = "PACKAGE_NOT_FOUND"
PACKAGE_EXISTS = "PACKAGE_EXISTS"
PACKAGE_NOT_INSTALLED = "PACKAGE_NOT_INSTALLED"
PACKAGE_BUSY = "PACKAGE_BUSY"
INSTALL_PATH_MISSING = "INSTALL_PATH_MISSING"
OPERATION_NOT_FOUND = "OPERATION_NOT_FOUND"
NOT_RESTORABLE = "NOT_RESTORABLE"
RESTORE_CONFLICT = "RESTORE_CONFLICT"
INTEGRITY_MISMATCH = "INTEGRITY_MISMATCH"
MOVE_FAILED = "MOVE_FAILED"
STORE_FAILED = "STORE_FAILED"
INTERRUPTED = "INTERRUPTED"
# exit 10
INTERNAL_ERROR = "INTERNAL_ERROR"


class SynoraError(ContractError):
    """A definitive refusal, raised before or outside an operation's mutation phase."""

    def __init__(self, code: str, message: str, exit_code: int,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(code, message, details, exit_code)


def blocked(code: str, message: str, **details: Any) -> SynoraError:
    """The security guard's refusal (exit 3)."""
    return SynoraError(code, message, EXIT_SECURITY, details)


def runtime(code: str, message: str, **details: Any) -> SynoraError:
    """A runtime or integration failure (exit 4)."""
    return SynoraError(code, message, EXIT_RUNTIME, details)


def usage(code: str, message: str, **details: Any) -> SynoraError:
    return SynoraError(code, message, EXIT_USAGE, details)
