"""The TTL sweep: set-based, nothing cleaned twice, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import insert, select

from common.clock import utc_now
from domain.exam.sessions import new_session
from domain.exam.sweep import sweep
from store.engine import session_scope
from store.models.exam import ExamEnvironment, ExamSession


def _state(url: str, sid: str) -> tuple[str, str | None]:
    with session_scope(url) as db:
        row = db.get(ExamSession, sid)
        assert row is not None
        return row.state, row.reason


def _env_status(url: str, sid: str) -> str:
    with session_scope(url) as db:
        status = db.scalars(select(ExamEnvironment.status)
                            .where(ExamEnvironment.session_id == sid)).one()
        return status


def test_expired_and_abandoned_sessions_are_ended(exam_db: str,
                                                  make_session: Callable[..., str]) -> None:
    expired = make_session(state="running", duration_s=60, running_for_s=61,
                           env_status="running")
    active = make_session(state="running", duration_s=600, running_for_s=61,
                          env_status="running")
    abandoned_created = make_session(state="created", duration_s=60, idle_for_s=121)
    abandoned_ready = make_session(state="ready", duration_s=60, idle_for_s=121,
                                   env_status="running")
    fresh = make_session(state="created", duration_s=60, idle_for_s=100)
    ended_with_env = make_session(state="terminated", env_status="running")
    done = make_session(state="terminated", env_status="destroyed")

    preview = sweep(dry_run=True)
    assert preview.dry_run and _state(exam_db, expired)[0] == "running"  # nothing changed
    result = sweep()
    assert result.as_json()["dry_run"] is False
    assert sorted(result.cleaned) == sorted(preview.cleaned)
    assert set(result.cleaned) == {expired, abandoned_created, abandoned_ready, ended_with_env}
    # The five non-terminal sessions, and the ended one whose environment is still held.
    assert result.checked == preview.checked == 6
    assert set(result.environments_to_destroy) == {expired, abandoned_ready, ended_with_env}
    assert _state(exam_db, expired) == ("terminated", "Session expired: ran past its duration")
    assert _state(exam_db, abandoned_created)[0] == "failed"  # created cannot terminate
    assert _state(exam_db, abandoned_ready)[0] == "terminated"
    assert (_state(exam_db, active)[0], _state(exam_db, fresh)[0]) == ("running", "created")
    assert _env_status(exam_db, expired) == "terminating"
    assert _env_status(exam_db, done) == "destroyed"
    assert sweep().cleaned == []  # a second sweep finds nothing left


def test_after_a_normal_end_the_cleaned_session_was_checked(
        exam_db: str, make_session: Callable[..., str]) -> None:
    # Given a session that ended normally, its environment still running,
    ended = make_session(state="terminated", env_status="running")
    # when the sweep releases that environment,
    for result in (sweep(dry_run=True), sweep()):
        answer = result.as_json()
        # then the session it cleaned is one it counted as checked.
        assert answer["cleaned_session_ids"] == [ended]
        assert (answer["sessions_checked"], answer["sessions_cleaned"]) == (1, 1)
    # And once released, the session is neither checked nor cleaned again.
    assert (sweep().checked, sweep().cleaned) == (0, [])


def test_two_sweeps_at_once_over_10000_sessions_clean_nothing_twice(exam_db: str) -> None:
    # Given 10,000 running sessions of which 1,000 ran past their duration,
    now = utc_now()
    rows = []
    expired_ids = set()
    for i in range(10_000):
        row = new_session(str(uuid.uuid4()), str(uuid.uuid4()), 600, now)
        row.state = "running"
        row.running_at = now - timedelta(seconds=700 if i % 10 == 0 else 10)
        row.expires_at = row.running_at + timedelta(seconds=600)
        if i % 10 == 0:
            expired_ids.add(row.id)
        rows.append({c.name: getattr(row, c.key) for c in ExamSession.__table__.columns})
    with session_scope(exam_db) as db:
        db.execute(insert(ExamSession), rows)
    # when two sweeps run at the same instant,
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(sweep())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then together they cleaned each expired session exactly once,
    first, second = (set(r.cleaned) for r in results)
    assert not first & second
    assert first | second == expired_ids
    # and exactly those sessions ended.
    with session_scope(exam_db) as db:
        ended = set(db.scalars(select(ExamSession.id).where(ExamSession.state == "terminated")))
    assert ended == expired_ids
