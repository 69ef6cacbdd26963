"""The one error hierarchy. Domain code raises these; only cli/ turns them into output.

Celery rebuilds an exception on the client from its type and ``args`` (JSON only),
so every error here passes all of its fields to ``Exception.__init__``.
"""

from __future__ import annotations

from typing import Any


class ConveyorError(Exception):
    """Base of every error Conveyor raises on purpose."""


class ContractError(ConveyorError):
    """A definitive answer in a contract's own terms: code, message, details, exit code.

    It is permanent: retrying the same input gives the same answer.
    """

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None,
                 exit_code: int = 1) -> None:
        super().__init__(code, message, details or {}, exit_code)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details,
                "exit_code": self.exit_code}


class TransientError(ConveyorError):
    """Something outside us failed and the same work may succeed later (retry it).

    ``exhausted`` is the contract answer to give once retries run out.
    """

    def __init__(self, message: str, exhausted: ContractError | None = None) -> None:
        super().__init__(message, exhausted)
        self.message = message
        self.exhausted = exhausted

    def __str__(self) -> str:
        return self.message

    def final_error(self) -> ContractError:
        return self.exhausted or ContractError("RETRIES_EXHAUSTED", self.message, exit_code=1)


class JobSystemError(ConveyorError):
    """The job system itself could not do what was asked (no worker, broker down, timeout)."""

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(reason, message, details or {})
        self.reason = reason
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return self.message
