"""What the candidate's screen shows: display state, message, progress, time left.

Pure: it reads a session and its environment as plain values, so it is tested
without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.clock import iso_z
from domain.exam.failures import kind_for
from domain.exam.states import EnvironmentStatus, SessionState

TOTAL_STEPS = 3


@dataclass(frozen=True, kw_only=True)
class SessionView:
    session_id: str
    state: str
    reason: str | None
    duration_seconds: int
    running_at: datetime | None
    ready_at: datetime | None
    updated_at: datetime
    env_status: str | None
    env_updated_at: datetime | None


def remaining_seconds(view: SessionView, now: datetime) -> int:
    """The full duration until the exam runs; then what is left of it; 0 once ended."""
    state = SessionState(view.state)
    if state in (SessionState.TERMINATED, SessionState.FAILED):
        return 0
    if state is SessionState.RUNNING and view.running_at is not None:
        elapsed = (now - view.running_at).total_seconds()
        return max(0, int(view.duration_seconds - elapsed))
    return view.duration_seconds


def _progress(step: int, text: str) -> dict[str, Any]:
    return {"current_step": step, "total_steps": TOTAL_STEPS, "step_description": text}


def _stage(view: SessionView) -> tuple[str, str, int, str]:
    """(display_state, message, step, step description) for a non-failed session."""
    state = SessionState(view.state)
    env_running = view.env_status == EnvironmentStatus.RUNNING
    if state is SessionState.CREATED:
        return "preparing", "Preparing your exam session", 1, "Session created"
    if state is SessionState.INITIALIZING:
        return "preparing", "Starting your exam environment", 2, "Starting environment"
    if state is SessionState.READY and env_running:
        return "ready", "Your exam environment is ready", 3, "Environment ready"
    if state is SessionState.READY:
        return "preparing", "Your exam environment is being prepared", 2, "Starting environment"
    if state is SessionState.RUNNING:
        return "in_progress", "Your exam is in progress", 3, "Exam in progress"
    return "ended", "Your exam session has ended", 3, "Session ended"


def display(view: SessionView, now: datetime) -> dict[str, Any]:
    updated = max(filter(None, (view.updated_at, view.env_updated_at)))
    if view.state == SessionState.FAILED:
        kind = kind_for(None, view.reason or "")
        before_ready = view.ready_at is None
        return {
            "session_id": view.session_id,
            "display_state": "error",
            "message": "Failed to start your exam environment" if before_ready
            else "Your exam session stopped because of a problem",
            "error_reason": kind.summary,
            "recoverable": kind.recoverable,
            "updated_at": iso_z(updated),
        }
    display_state, message, step, text = _stage(view)
    return {
        "session_id": view.session_id,
        "display_state": display_state,
        "message": message,
        "progress": _progress(step, text),
        "environment_ready": view.env_status == EnvironmentStatus.RUNNING
        and view.state in (SessionState.READY, SessionState.RUNNING),
        "remaining_seconds": remaining_seconds(view, now),
        "updated_at": iso_z(updated),
    }
