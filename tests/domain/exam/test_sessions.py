"""Sessions in the store, on SQLite and PostgreSQL: creation, transitions, races."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from common.errors import ContractError
from domain.exam.sessions import create_session, get_session, status_json, transition
from domain.exam.states import SessionState

USER = "550e8400-e29b-41d4-a716-446655440000"
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def test_a_created_session_is_in_created(exam_db: str) -> None:
    created = create_session(USER, SESSION, 7200)
    assert created["state"] == "created" and created["duration_seconds"] == 7200
    status = status_json(get_session(SESSION))
    assert status["state"] == "created" and status["reason"] is None
    assert status["started_at"] == status["last_transition_at"] == created["created_at"]


def test_creating_again_returns_the_same_session(exam_db: str) -> None:
    first = create_session(USER, SESSION, 7200)
    assert create_session(USER, SESSION, 7200) == first


def test_a_session_id_of_another_user_is_refused(exam_db: str) -> None:
    create_session(USER, SESSION, 7200)
    with pytest.raises(ContractError) as caught:
        create_session(str(uuid.uuid4()), SESSION, 7200)
    assert (caught.value.code, caught.value.exit_code) == ("SESSION_EXISTS", 3)


def test_one_non_terminal_session_per_user(exam_db: str) -> None:
    create_session(USER, SESSION, 7200)
    with pytest.raises(ContractError) as caught:
        create_session(USER, str(uuid.uuid4()), 7200)
    assert (caught.value.code, caught.value.exit_code) == ("ACTIVE_SESSION_EXISTS", 3)
    assert caught.value.details["active_session_id"] == SESSION
    transition(SESSION, SessionState.FAILED, "gave up")
    assert create_session(USER, str(uuid.uuid4()), 7200)["state"] == "created"


def test_a_walk_through_the_lifecycle(exam_db: str) -> None:
    create_session(USER, SESSION, 7200)
    for previous, to in [("created", "initializing"), ("initializing", "ready"),
                         ("ready", "running"), ("running", "terminated")]:
        result = transition(SESSION, SessionState(to), None)
        assert (result["previous_state"], result["current_state"]) == (previous, to)
        assert result["transitioned_at"].endswith("Z")
    row = get_session(SESSION)
    assert row.ready_at and row.running_at and row.terminated_at and row.expires_at
    with pytest.raises(ContractError) as caught:
        transition(SESSION, SessionState.RUNNING, None)
    assert caught.value.details == {"current_state": "terminated", "requested_state": "running",
                                    "allowed_transitions": []}


def test_the_failure_reason_is_kept(exam_db: str) -> None:
    create_session(USER, SESSION, 7200)
    transition(SESSION, SessionState.FAILED, "ImagePullBackOff")
    assert status_json(get_session(SESSION))["reason"] == "ImagePullBackOff"


def test_unknown_session(exam_db: str) -> None:
    with pytest.raises(ContractError) as caught:
        transition(SESSION, SessionState.READY, None)
    assert (caught.value.code, caught.value.exit_code) == ("SESSION_NOT_FOUND", 4)


def _race(count: int, attempt: Callable[[int], object]) -> tuple[list[object], list[ContractError]]:
    """Run attempt(i) on `count` threads released at once; successes and contract errors."""
    barrier = threading.Barrier(count)

    def run(i: int) -> object:
        barrier.wait()
        try:
            return attempt(i)
        except ContractError as err:
            return err

    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(run, range(count)))
    errors = [r for r in results if isinstance(r, ContractError)]
    return [r for r in results if not isinstance(r, ContractError)], errors


def test_racing_transitions_give_exactly_one_success(exam_db: str,
                                                     make_session: Callable[..., str]) -> None:
    # Given a ready session, when 8 threads ask for `running` at the same instant,
    sid = make_session(state="ready", env_status="running")
    wins, errors = _race(8, lambda _i: transition(sid, SessionState.RUNNING, None))
    # then exactly one transition happens; every other one sees `running` already.
    assert len(wins) == 1 and len(errors) == 7
    assert {(e.code, e.details["current_state"]) for e in errors} == {
        ("INVALID_TRANSITION", "running")}


def test_racing_creations_leave_one_active_session_per_user(exam_db: str) -> None:
    wins, errors = _race(6, lambda _i: create_session(USER, str(uuid.uuid4()), 7200))
    assert len(wins) == 1
    assert {e.code for e in errors} == {"ACTIVE_SESSION_EXISTS"}
