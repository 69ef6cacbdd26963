"""Fixtures of the exam domain tests: sessions put straight into the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from common.clock import utc_now
from domain.exam.sessions import new_session
from store.engine import session_scope
from store.models.exam import ExamEnvironment


def put_session(url: str, *, state: str = "created", user_id: str | None = None,
                session_id: str | None = None, duration_s: int = 7200,
                now: datetime | None = None, env_status: str | None = None,
                running_for_s: float | None = None, idle_for_s: float = 0.0) -> str:
    """Insert a session (and optionally its environment) in the given state."""
    now = now or utc_now()
    sid = session_id or str(uuid.uuid4())
    row = new_session(user_id or str(uuid.uuid4()), sid, duration_s, now - timedelta(
        seconds=idle_for_s))
    row.state = state
    if running_for_s is not None:
        row.running_at = now - timedelta(seconds=running_for_s)
        row.expires_at = row.running_at + timedelta(seconds=duration_s)
    with session_scope(url) as db:
        db.add(row)
        if env_status is not None:
            db.flush()
            db.add(ExamEnvironment(
                id=str(uuid.uuid4()), session_id=sid, backend="local",
                pod_name=f"exam-{sid[:8]}", pod_namespace="exam-sessions", status=env_status,
                created_at=now, create_deadline_at=now, updated_at=now))
    return sid


@pytest.fixture
def exam_db(db_url: str) -> str:
    return db_url


@pytest.fixture
def make_session(exam_db: str) -> Callable[..., str]:
    def make(**kwargs: Any) -> str:
        return put_session(exam_db, **kwargs)
    return make
