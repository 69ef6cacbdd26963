"""Reading a session with its environment for the display and TTL answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from domain.clock import utc_now
from domain.exam.display import SessionView, display
from domain.exam.errors import session_not_found
from domain.exam.ttl import TtlView, check
from store.engine import session_scope
from store.models.exam import ExamEnvironment, ExamSession


def _load(session_id: str, url: str | None) -> tuple[ExamSession, ExamEnvironment | None]:
    with session_scope(url) as db:
        session = db.get(ExamSession, session_id)
        if session is None:
            raise session_not_found(session_id)
        env = db.scalars(select(ExamEnvironment)
                         .where(ExamEnvironment.session_id == session_id)).first()
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
