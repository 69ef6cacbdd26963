"""The exit codes of chirality-framework.md and the contract errors that carry them."""

from __future__ import annotations

from typing import Any

from common.errors import ContractError

EXIT_GENERAL = 1
EXIT_INVALID_ARGUMENTS = 2
EXIT_TIMEOUT = 3
EXIT_IO = 4
EXIT_RESOLVER = 5

INVALID_ARGUMENTS = "INVALID_ARGUMENTS"
TIMEOUT = "TIMEOUT"
IO_ERROR = "IO_ERROR"
RESOLVER_ERROR = "RESOLVER_ERROR"
RUN_INVALID = "RUN_INVALID"
INTERNAL_ERROR = "INTERNAL_ERROR"
JOB_SYSTEM_UNAVAILABLE = "JOB_SYSTEM_UNAVAILABLE"


def invalid_arguments(message: str, **details: Any) -> ContractError:
    return ContractError(INVALID_ARGUMENTS, message, details, EXIT_INVALID_ARGUMENTS)


def timed_out(message: str, **details: Any) -> ContractError:
    return ContractError(TIMEOUT, message, details, EXIT_TIMEOUT)


def io_error(message: str, exc: OSError | None = None, **details: Any) -> ContractError:
    if exc is not None:
        details = {"errno": exc.errno, "reason": exc.strerror or str(exc), **details}
        if exc.filename is not None:
            details.setdefault("path", str(exc.filename))
    return ContractError(IO_ERROR, message, details, EXIT_IO)


def resolver_error(message: str, **details: Any) -> ContractError:
    return ContractError(RESOLVER_ERROR, message, details, EXIT_RESOLVER)
