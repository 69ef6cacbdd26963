"""The TTL sweep: set-based SQL, safe when two sweeps run at once.

One transaction, two statements:
  1. UPDATE exam_sessions ... WHERE expired OR abandoned RETURNING id: expired and
     abandoned ready/running sessions become terminated; abandoned created/initializing
     ones become failed (the lifecycle allows nothing else from there);
  2. UPDATE exam_environments SET status='terminating' WHERE live AND its session has
     ended RETURNING session_id: the environments to destroy (through the queue).
A second sweep racing the first waits for its row locks (PostgreSQL re-checks the
WHERE clause on the new row versions) or for its write lock (SQLite), then finds
those rows no longer match: nothing is cleaned twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, case, exists, func, or_, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from common.clock import iso_z, utc_now
from domain.exam.states import (
    NEEDS_RELEASE,
    TERMINAL_STATES,
    EnvironmentStatus,
    SessionState,
)
from domain.exam.ttl import ABANDONED_REASON, EXPIRED_REASON
from store.engine import session_scope, write_session
from store.models.exam import ACTIVE_SQL, ExamEnvironment, ExamSession

_sessions = cast(Table, ExamSession.__table__)
_envs = cast(Table, ExamEnvironment.__table__)
_TERMINAL = [s.value for s in TERMINAL_STATES]
_RELEASE = [s.value for s in NEEDS_RELEASE]
# A destroy still `terminating` after this long lost its job: the next sweep sends another.
STALLED_DESTROY = timedelta(minutes=10)
_NOT_STARTED = [SessionState.CREATED.value, SessionState.INITIALIZING.value]


@dataclass
class SweepResult:
    started_at: datetime
    completed_at: datetime
    checked: int
    cleaned: list[str]
    dry_run: bool
    environments_to_destroy: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"sweep_started_at": iso_z(self.started_at),
                "sweep_completed_at": iso_z(self.completed_at),
                "sessions_checked": self.checked, "sessions_cleaned": len(self.cleaned),
                "cleaned_session_ids": self.cleaned, "dry_run": self.dry_run}


# The state conditions are literal SQL, word for word the WHERE clauses of the partial
# indexes (store/models/exam.py): SQLite uses a partial index only for a query term it
# can match to the index's own, and never for a bound parameter. With them each branch
# is an index range scan (MULTI-INDEX OR), so a sweep reads the due rows, not the table.
_RUNNING_SQL = text("exam_sessions.state = 'running'")
_ACTIVE_SQL = text(f"exam_sessions.{ACTIVE_SQL}")


def _expired(now: datetime) -> ColumnElement[bool]:
    return and_(_RUNNING_SQL, _sessions.c.expires_at <= now)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return and_(_ACTIVE_SQL, _sessions.c.abandon_at <= now)


def _leftover_envs(now: datetime) -> ColumnElement[bool]:
    """Unreleased environments of ended sessions, and destroys that stalled (job lost)."""
    ended = exists().where(_sessions.c.id == _envs.c.session_id,
                           _sessions.c.state.in_(_TERMINAL))
    stalled = and_(_envs.c.status == EnvironmentStatus.TERMINATING.value,
                   _envs.c.updated_at <= now - STALLED_DESTROY)
    return or_(and_(_envs.c.status.in_(_RELEASE), ended), stalled)


def _count_checked(now: datetime) -> Any:
    """The sessions a sweep looks at: every non-terminal one (may it be ended?) and every
    ended one with an environment still to release. Each cleaned id is among them."""
    ended_with_leftover = select(func.count()).select_from(_envs).where(
        _leftover_envs(now), exists().where(_sessions.c.id == _envs.c.session_id,
                                            _sessions.c.state.in_(_TERMINAL)))
    active = select(func.count()).select_from(_sessions).where(_ACTIVE_SQL)
    return select(active.scalar_subquery() + ended_with_leftover.scalar_subquery())


def _merge(first: list[str], second: list[str]) -> list[str]:
    """first, then the ids of second not in it (each id once)."""
    seen = set(first)
    return first + [s for s in dict.fromkeys(second) if s not in seen]


def sweep(*, now: datetime | None = None, dry_run: bool = False,
          url: str | None = None) -> SweepResult:
    started = utc_now()
    now = now or started
    if dry_run:
        return _dry_run(started, now, url)
    with write_session(url) as db:
        checked = int(db.execute(_count_checked(now)).scalar_one())
        ended = db.execute(
            update(_sessions)
            .where(or_(_expired(now), _abandoned(now)))
            .values(state=case((_sessions.c.state.in_(_NOT_STARTED), SessionState.FAILED.value),
                               else_=SessionState.TERMINATED.value),
                    reason=case((_expired(now), EXPIRED_REASON), else_=ABANDONED_REASON),
                    terminated_at=now, last_transition_at=now, updated_at=now)
            .returning(_sessions.c.id)).scalars().all()
        envs = db.execute(
            update(_envs).where(_leftover_envs(now))
            .values(status=EnvironmentStatus.TERMINATING.value, updated_at=now)
            .returning(_envs.c.session_id)).scalars().all()
    return SweepResult(started, utc_now(), checked, _merge(sorted(ended), sorted(envs)),
                       False, sorted(envs))


def _dry_run(started: datetime, now: datetime, url: str | None) -> SweepResult:
    with session_scope(url) as db:
        checked = int(db.execute(_count_checked(now)).scalar_one())
        ended = db.execute(select(_sessions.c.id)
                           .where(or_(_expired(now), _abandoned(now)))).scalars().all()
        envs = db.execute(select(_envs.c.session_id).where(_leftover_envs(now))).scalars().all()
    # Environments of the sessions this sweep would end are destroyed by it too.
    would_destroy = sorted(set(envs) | _live_env_sessions(set(ended), url))
    return SweepResult(started, utc_now(), checked, _merge(sorted(ended), sorted(envs)), True,
                       would_destroy)


def _live_env_sessions(session_ids: set[str], url: str | None) -> set[str]:
    if not session_ids:
        return set()
    with session_scope(url) as db:
        rows = db.execute(select(_envs.c.session_id).where(
            _envs.c.status.in_(_RELEASE), _envs.c.session_id.in_(sorted(session_ids)))).scalars()
        return set(rows)
