"""environment-access decisions and the access log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from common.errors import ContractError
from domain.exam.access import authorize
from store.engine import session_scope
from store.models.exam import ExamAccessLog, ExamSession

USER = "550e8400-e29b-41d4-a716-446655440000"


def _log(url: str) -> list[tuple[str, str, str]]:
    with session_scope(url) as db:
        return [(r.session_id, r.decision, r.reason)
                for r in db.scalars(select(ExamAccessLog).order_by(ExamAccessLog.id))]


def _denial(session_id: str, user_id: str) -> ContractError:
    with pytest.raises(ContractError) as caught:
        authorize(session_id, user_id)
    return caught.value


@pytest.mark.parametrize("state", ["ready", "running"])
def test_the_owner_is_granted_while_the_session_serves(
        exam_db: str, make_session: Callable[..., str], state: str) -> None:
    sid = make_session(state=state, user_id=USER, env_status="running", idle_for_s=60)
    with session_scope(exam_db) as db:
        before = db.get(ExamSession, sid).abandon_at  # type: ignore[union-attr]
    assert authorize(sid, USER) == {"authorized": True, "session_id": sid, "user_id": USER}
    assert _log(exam_db) == [(sid, "granted", "owner")]
    with session_scope(exam_db) as db:
        assert db.get(ExamSession, sid).abandon_at > before  # type: ignore[union-attr]


def test_every_denial_is_the_same(exam_db: str, make_session: Callable[..., str]) -> None:
    serving = make_session(state="running", user_id=USER, env_status="running")
    cases = {
        "not_owner": (serving, str(uuid.uuid4())),
        "unknown_session": (str(uuid.uuid4()), USER),
        "session_created": (make_session(state="created", env_status="pending"), None),
        "session_terminated": (make_session(state="terminated", env_status="destroyed"), None),
        "environment_creating": (make_session(state="ready", env_status="creating"), None),
        "environment_missing": (make_session(state="ready"), None),
        "malformed_id": ("6ba7b810;DROP TABLE", USER),
    }
    denials = []
    for sid, user in cases.values():
        if user is None:  # the owner of that session
            with session_scope(exam_db) as db:
                row = db.get(ExamSession, sid)
                user = row.user_id if row else USER
        denials.append(_denial(sid, user))
    assert {(d.code, d.message, str(d.details), d.exit_code) for d in denials} == {
        ("ACCESS_DENIED", "Access denied", "{}", 5)}
    assert [(decision, why) for _sid, decision, why in _log(exam_db)] == [
        ("denied", reason) for reason in cases]


def test_ids_a_database_cannot_hold_are_logged_escaped(exam_db: str) -> None:
    # Found by tests/fuzz: NUL (PostgreSQL text refuses it) and bytes that are not UTF-8
    # (SQLite cannot encode them) must be denied and logged, not crash the decision.
    for given in ("6ba7b810\x00", "6ba7b810\udcff"):
        assert _denial(given, USER).code == "ACCESS_DENIED"
    assert [sid for sid, _decision, _why in _log(exam_db)] == ["6ba7b810\\x00",
                                                                 "6ba7b810\\udcff"]


def test_access_ends_the_moment_time_is_up(exam_db: str,
                                           make_session: Callable[..., str]) -> None:
    # Given a running session one second past its duration, and a ready one idle for
    # just over twice its duration, no sweep having run,
    expired = make_session(state="running", user_id=USER, duration_s=60, running_for_s=61,
                           env_status="running")
    other_user = str(uuid.uuid4())
    abandoned = make_session(state="ready", user_id=other_user, duration_s=60,
                             idle_for_s=121, env_status="running")
    with session_scope(exam_db) as db:
        deadline = db.get(ExamSession, abandoned).abandon_at  # type: ignore[union-attr]
    # then both owners are denied at once, in the one denial shape,
    for sid, user in ((expired, USER), (abandoned, other_user)):
        denial = _denial(sid, user)
        assert (denial.code, denial.message, denial.details, denial.exit_code) == (
            "ACCESS_DENIED", "Access denied", {}, 5)
    assert [why for _sid, _decision, why in _log(exam_db)] == ["session_expired",
                                                               "session_abandoned"]
    # and the denied access did not count as activity (it must not revive the session).
    with session_scope(exam_db) as db:
        assert db.get(ExamSession, abandoned).abandon_at == deadline  # type: ignore[union-attr]


def test_access_is_granted_until_the_last_second(exam_db: str,
                                                 make_session: Callable[..., str]) -> None:
    sid = make_session(state="running", user_id=USER, duration_s=60, running_for_s=59,
                       env_status="running")
    assert authorize(sid, USER)["authorized"] is True
