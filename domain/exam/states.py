"""The two state machines: a session's lifecycle and its execution environment's status."""

from __future__ import annotations

from enum import StrEnum

from common.errors import ContractError
from domain.exam.errors import EXIT_TRANSITION, INVALID_TRANSITION


class SessionState(StrEnum):
    CREATED = "created"
    INITIALIZING = "initializing"
    READY = "ready"
    RUNNING = "running"
    TERMINATED = "terminated"
    FAILED = "failed"


# A session is *in* created when its row is inserted; nothing transitions to it.
TRANSITIONS: dict[SessionState, tuple[SessionState, ...]] = {
    SessionState.CREATED: (SessionState.INITIALIZING, SessionState.FAILED),
    SessionState.INITIALIZING: (SessionState.READY, SessionState.FAILED),
    SessionState.READY: (SessionState.RUNNING, SessionState.TERMINATED, SessionState.FAILED),
    SessionState.RUNNING: (SessionState.TERMINATED, SessionState.FAILED),
    SessionState.TERMINATED: (),
    SessionState.FAILED: (),
}

TERMINAL_STATES = frozenset({SessionState.TERMINATED, SessionState.FAILED})
ACTIVE_STATES = tuple(s for s in SessionState if s not in TERMINAL_STATES)
ALL_STATES = tuple(s.value for s in SessionState)


def allowed_transitions(current: SessionState) -> list[str]:
    return [s.value for s in TRANSITIONS[current]]


def check_transition(current: SessionState, requested: SessionState) -> None:
    """INVALID_TRANSITION (exit 6) unless ``current -> requested`` is an edge of the machine."""
    if requested not in TRANSITIONS[current]:
        raise ContractError(
            INVALID_TRANSITION, f"Cannot transition from '{current}' to '{requested}'",
            {"current_state": current.value, "requested_state": requested.value,
             "allowed_transitions": allowed_transitions(current)}, EXIT_TRANSITION)


class EnvironmentStatus(StrEnum):
    PENDING = "pending"
    CREATING = "creating"
    RUNNING = "running"
    TERMINATING = "terminating"
    DESTROYED = "destroyed"
    ERROR = "error"


# pending -> creating -> running -> terminating -> destroyed; creating -> error.
# An environment that holds (or may hold) resources: the sweep destroys these when
# their session has ended.
LIVE_ENVIRONMENT = (EnvironmentStatus.PENDING, EnvironmentStatus.CREATING,
                    EnvironmentStatus.RUNNING)
# An environment a new `create` may replace (the session permitting).
REPLACEABLE_ENVIRONMENT = (EnvironmentStatus.DESTROYED, EnvironmentStatus.ERROR)
# What the sweep releases once the session has ended: live environments, and failed
# ones (their cleanup may itself have failed, e.g. with the Kubernetes API down).
NEEDS_RELEASE = (*LIVE_ENVIRONMENT, EnvironmentStatus.ERROR)
