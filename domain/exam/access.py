"""Access decisions: only the owner, only while the session serves, only with a running env.

Every decision is appended to the access log with its internal reason; the caller
gets either a grant or the one denial (same code, message and empty details), so a
denial says nothing about whether the session exists, whose it is, or its state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.clock import utc_now
from domain.exam.activity import abandon_deadline
from domain.exam.errors import access_denied
from domain.exam.identity import canonical, is_rfc4122
from domain.exam.states import EnvironmentStatus, SessionState
from store.exam_reads import SessionRow, access_transaction

SERVING_STATES = (SessionState.READY.value, SessionState.RUNNING.value)
MAX_LOGGED_ID = 64


def _decide(session: SessionRow | None, env_status: str | None, user_id: str,
            now: datetime) -> str | None:
    """None to grant, else the internal reason for the denial."""
    if session is None:
        return "unknown_session"
    if session.user_id != user_id:
        return "not_owner"
    if session.state not in SERVING_STATES:
        return f"session_{session.state}"
    # Time is up the moment a deadline passes, not when the next sweep ends the session.
    if session.expires_at is not None and session.expires_at <= now:
        return "session_expired"
    if session.abandon_at <= now:
        return "session_abandoned"
    if env_status != EnvironmentStatus.RUNNING:
        return f"environment_{env_status or 'missing'}"
    return None


def _loggable(value: str) -> str:
    """A given id as the access log can store it: an argument that is not valid UTF-8
    (surrogate escapes) or holds NUL (PostgreSQL text cannot) must be logged and denied
    like any other, not crash the decision."""
    text = value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:MAX_LOGGED_ID]


def authorize(session_id: str, user_id: str, *, now: datetime | None = None,
              url: str | None = None) -> dict[str, Any]:
    """The grant, or raise the one ACCESS_DENIED (exit 5). Either way, logged."""
    now = now or utc_now()
    well_formed = is_rfc4122(session_id) and is_rfc4122(user_id)
    sid, uid = (canonical(session_id), canonical(user_id)) if well_formed else \
        (session_id, user_id)
    # One write transaction through the driver (no SQLAlchemy: a whole CLI call).
    with access_transaction(url) as db:
        reason: str | None = "malformed_id"
        if well_formed:
            session = db.session_for_update(sid)
            env_status = db.environment_status(sid)
            reason = _decide(session, env_status, uid, now)
            if reason is None and session is not None:
                # an access is activity: it defers abandonment
                db.touch(sid, now, abandon_deadline(now, session.duration_seconds))
        db.log_access(_loggable(sid), _loggable(uid),
                      "granted" if reason is None else "denied", reason or "owner", now)
    if reason is not None:
        raise access_denied()
    return {"authorized": True, "session_id": sid, "user_id": uid}
