"""Reading a session (and its environment) for the status, display and TTL answers.

Through the driver (store/exam_reads.py), not SQLAlchemy: these are whole CLI calls
that must answer like native tools.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from common.clock import iso_z, utc_now
from domain.exam.display import SessionView, display
from domain.exam.errors import session_not_found
from domain.exam.ttl import TtlView, check
from store.exam_reads import (
    EnvironmentRow,
    SessionRow,
    load_session,
    load_session_and_environment,
)


class _Session(Protocol):
    """A session row: store/exam_reads.SessionRow, or the ORM's ExamSession."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_transition_at(self) -> datetime: ...


def status_json(row: _Session) -> dict[str, Any]:
    """`session-lifecycle status`: started_at is when the session began (its row was made)."""
    return {"session_id": row.id, "state": row.state, "reason": row.reason,
            "started_at": iso_z(row.created_at),
            "last_transition_at": iso_z(row.last_transition_at)}


def session_status(session_id: str, *, url: str | None = None) -> dict[str, Any]:
    """`session-lifecycle status`, or SESSION_NOT_FOUND."""
    session = load_session(session_id, url=url)
    if session is None:
        raise session_not_found(session_id)
    return status_json(session)


def _load(session_id: str, url: str | None) -> tuple[SessionRow, EnvironmentRow | None]:
    session, env = load_session_and_environment(session_id, url=url)
    if session is None:
        raise session_not_found(session_id)
    return session, env


def session_display(session_id: str, *, now: datetime | None = None,
                    url: str | None = None) -> dict[str, Any]:
    session, env = _load(session_id, url)
    view = SessionView(session_id=session.id, state=session.state, reason=session.reason,
                       duration_seconds=session.duration_seconds, running_at=session.running_at,
                       ready_at=session.ready_at, updated_at=session.updated_at,
                       env_status=env.status if env else None,
                       env_updated_at=env.updated_at if env else None)
    return display(view, now or utc_now())


def ttl_check(session_id: str, *, now: datetime | None = None,
              url: str | None = None) -> dict[str, Any]:
    session, env = _load(session_id, url)
    view = TtlView(session_id=session.id, state=session.state, expires_at=session.expires_at,
                   abandon_at=session.abandon_at, env_status=env.status if env else None)
    return check(view, now or utc_now())
