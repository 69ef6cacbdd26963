"""Oord's error codes and exit codes (oord-error-model.md).

seal exits 0 or 2; verify 0, 1 (content or cryptographic mismatch) or 2 (environment).
Every error raised here is a ContractError carrying one of these codes.
"""

from __future__ import annotations

from typing import Any

from common.errors import ContractError

EXIT_OK = 0
EXIT_CONTENT = 1
EXIT_ENV = 2

USAGE_ERROR = "USAGE_ERROR"
INPUT_NOT_FOUND = "INPUT_NOT_FOUND"
INPUT_INVALID = "INPUT_INVALID"
IO_ERROR = "IO_ERROR"
KEY_ERROR = "KEY_ERROR"
CONFIG_ERROR = "CONFIG_ERROR"
CORE_UNAVAILABLE = "CORE_UNAVAILABLE"
CORE_ERROR = "CORE_ERROR"
TL_UNAVAILABLE = "TL_UNAVAILABLE"
JOB_SYSTEM_UNAVAILABLE = "JOB_SYSTEM_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"


def env_error(code: str, message: str, details: dict[str, Any] | None = None) -> ContractError:
    """An environment or infrastructure failure (exit 2): a retry may succeed later."""
    return ContractError(code, message, details or {}, EXIT_ENV)


def io_error(action: str, exc: OSError) -> ContractError:
    """An OSError as IO_ERROR, naming what was being done and the path."""
    where = f" {exc.filename}" if exc.filename else ""
    return env_error(IO_ERROR, f"{action}:{where} {exc.strerror or exc}".strip(),
                     {"path": str(exc.filename) if exc.filename else None})
