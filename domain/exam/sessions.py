"""Sessions in the store: create, transition (serialized per session), read.

Transitions are read-check-write under a row lock: `write_session` starts SQLite
transactions with BEGIN IMMEDIATE (writers queue up), and on PostgreSQL the row is
read with SELECT ... FOR UPDATE, so of two racing transitions on one session the
second sees the first one's result. "At most one non-terminal session per user" is
a partial unique index, which holds under racing creations too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.clock import iso_z, utc_now
from common.errors import ContractError
from domain.exam.activity import abandon_deadline
from domain.exam.errors import (
    ACTIVE_SESSION_EXISTS,
    EXIT_VALIDATION,
    SESSION_EXISTS,
    session_not_found,
)
from domain.exam.reads import status_json as status_json  # where it lives now
from domain.exam.states import TERMINAL_STATES, SessionState, check_transition
from store.engine import session_scope, write_session
from store.models.exam import ExamSession


def _iso(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def session_json(row: ExamSession) -> dict[str, Any]:
    """The record `session-lifecycle create` prints."""
    return {"session_id": row.id, "user_id": row.user_id, "state": row.state,
            "duration_seconds": row.duration_seconds, "created_at": iso_z(row.created_at)}


def new_session(user_id: str, session_id: str, duration_s: int, now: datetime) -> ExamSession:
    return ExamSession(
        id=session_id, user_id=user_id, state=SessionState.CREATED.value, reason=None,
        duration_seconds=duration_s, created_at=now, updated_at=now, last_transition_at=now,
        last_activity_at=now, abandon_at=abandon_deadline(now, duration_s))


def create_session(user_id: str, session_id: str, duration_s: int, *,
                   now: datetime | None = None, url: str | None = None) -> dict[str, Any]:
    """Insert a session in `created`; the same call again returns the same session."""
    now = now or utc_now()
    try:
        with write_session(url) as db:
            existing = db.get(ExamSession, session_id)
            if existing is None:
                _refuse_second_active(db, user_id)
                row = new_session(user_id, session_id, duration_s, now)
                db.add(row)
                db.flush()
                return session_json(row)
    except IntegrityError:
        pass  # a concurrent creation won the race: report what it made, below
    with session_scope(url) as db:
        existing = db.get(ExamSession, session_id)
        if existing is None:
            _refuse_second_active(db, user_id)
            raise AssertionError("an integrity error with neither conflict")  # pragma: no cover
    if existing.user_id != user_id:
        raise ContractError(SESSION_EXISTS, f"Session {session_id} exists for another user",
                            {"session_id": session_id}, EXIT_VALIDATION)
    return session_json(existing)


def _refuse_second_active(db: Session, user_id: str) -> None:
    active = db.scalars(select(ExamSession.id).where(
        ExamSession.user_id == user_id,
        ExamSession.state.not_in([s.value for s in TERMINAL_STATES]))).first()
    if active is not None:
        raise ContractError(
            ACTIVE_SESSION_EXISTS, "The user already has an active session",
            {"user_id": user_id, "active_session_id": active}, EXIT_VALIDATION)


def lock_session(db: Session, session_id: str) -> ExamSession:
    """The session's row, locked for this transaction (SESSION_NOT_FOUND if none)."""
    row = db.scalars(select(ExamSession).where(ExamSession.id == session_id)
                     .with_for_update()).first()
    if row is None:
        raise session_not_found(session_id)
    return row


def apply_transition(row: ExamSession, to: SessionState, reason: str | None,
                     now: datetime) -> str:
    """Move a locked row along one edge of the machine; returns the previous state."""
    previous = SessionState(row.state)
    check_transition(previous, to)
    row.state = to.value
    row.reason = reason
    row.last_transition_at = now
    row.updated_at = now
    touch(row, now)
    if to is SessionState.READY:
        row.ready_at = now
    elif to is SessionState.RUNNING:
        row.running_at = now
        row.expires_at = now + timedelta(seconds=row.duration_seconds)
    elif to in TERMINAL_STATES:
        row.terminated_at = now
    return previous.value


def touch(row: ExamSession, now: datetime) -> None:
    """Record activity: it pushes the abandonment deadline out."""
    row.last_activity_at = now
    row.abandon_at = abandon_deadline(now, row.duration_seconds)


def transition(session_id: str, to: SessionState, reason: str | None, *,
               now: datetime | None = None, url: str | None = None) -> dict[str, Any]:
    """The contract's `transition`: one serialized read-check-write."""
    with write_session(url) as db:
        row = lock_session(db, session_id)
        moment = now or utc_now()
        previous = apply_transition(row, to, reason, moment)
        return {"session_id": row.id, "previous_state": previous, "current_state": row.state,
                "transitioned_at": iso_z(moment)}


def get_session(session_id: str, *, url: str | None = None) -> ExamSession:
    with session_scope(url) as db:
        row = db.get(ExamSession, session_id)
        if row is None:
            raise session_not_found(session_id)
        return row
