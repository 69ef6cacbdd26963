"""The contract's error codes and exit codes, and constructors for its errors."""

from __future__ import annotations

from typing import Any

from common.errors import ContractError

EXIT_GENERAL = 1
EXIT_USAGE = 2
EXIT_VALIDATION = 3
EXIT_NOT_FOUND = 4
EXIT_ACCESS_DENIED = 5
EXIT_TRANSITION = 6

INVALID_IDENTITY = "INVALID_IDENTITY"
INVALID_STATE = "INVALID_STATE"
SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
ENVIRONMENT_NOT_FOUND = "ENVIRONMENT_NOT_FOUND"
SESSION_EXISTS = "SESSION_EXISTS"
ACTIVE_SESSION_EXISTS = "ACTIVE_SESSION_EXISTS"
ACCESS_DENIED = "ACCESS_DENIED"
INVALID_TRANSITION = "INVALID_TRANSITION"
ENVIRONMENT_CREATE_FAILED = "ENVIRONMENT_CREATE_FAILED"
ENVIRONMENT_DESTROY_FAILED = "ENVIRONMENT_DESTROY_FAILED"
ENVIRONMENT_STATUS_FAILED = "ENVIRONMENT_STATUS_FAILED"


def session_not_found(session_id: str) -> ContractError:
    return ContractError(SESSION_NOT_FOUND, f"Session not found: {session_id}",
                         {"session_id": session_id}, EXIT_NOT_FOUND)


def environment_not_found(session_id: str) -> ContractError:
    return ContractError(ENVIRONMENT_NOT_FOUND,
                         f"No execution environment for session {session_id}",
                         {"session_id": session_id}, EXIT_NOT_FOUND)


def access_denied() -> ContractError:
    """The one denial: same code, message and (empty) details whatever the cause."""
    return ContractError(ACCESS_DENIED, "Access denied", {}, EXIT_ACCESS_DENIED)


def create_failed(session_id: str, reason: str) -> ContractError:
    return ContractError(ENVIRONMENT_CREATE_FAILED, "Failed to create execution environment",
                         {"session_id": session_id, "reason": reason}, EXIT_GENERAL)


def invalid_state(message: str, details: dict[str, Any]) -> ContractError:
    return ContractError(INVALID_STATE, message, details, EXIT_VALIDATION)


def destroy_failed(session_id: str, reason: str) -> ContractError:
    return ContractError(ENVIRONMENT_DESTROY_FAILED, "Failed to destroy execution environment",
                         {"session_id": session_id, "reason": reason}, EXIT_GENERAL)
