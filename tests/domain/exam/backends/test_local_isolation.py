"""Local backend isolation with real processes: sessions sharing an 8-hex prefix apart,
a folder of another session never adopted nor removed, destroy failures reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.errors import ContractError
from config.exam import get_exam_settings
from config.processes import ProcessRef
from domain.exam.access import authorize
from domain.exam.backends.base import EnvironmentSpec
from domain.exam.backends.local import LocalBackend
from domain.exam.environments import create_environment, destroy_environment, environment_status
from domain.exam.sessions import create_session, transition
from domain.exam.states import SessionState
from tests.support.tmpfs import small_tmpfs

USER_A = "550e8400-e29b-41d4-a716-446655440000"
USER_B = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
SESSION_A = "33333333-1111-4111-8111-111111111111"
SESSION_B = "33333333-2222-4222-8222-222222222222"


def _folder(name: str) -> Path:
    return get_exam_settings().local_namespace_dir / name


def _process(name: str) -> ProcessRef:
    ref = ProcessRef.from_json(json.loads((_folder(name) / "pid").read_text()))
    assert ref is not None
    return ref


@pytest.fixture
def stop_all(conveyor_home: Path) -> Iterator[None]:
    yield
    from domain.exam.backends.local import _read_ref, _stop

    root = conveyor_home / "exam" / "environments"
    for pid_file in root.glob("*/*/pid") if root.exists() else []:
        ref = _read_ref(pid_file.parent)
        if ref is not None and ref.is_alive():
            _stop(ref)


def _denied(session_id: str, user_id: str) -> None:
    with pytest.raises(ContractError) as caught:
        authorize(session_id, user_id)
    assert (caught.value.code, caught.value.details, caught.value.exit_code) == (
        "ACCESS_DENIED", {}, 5)


def test_sessions_sharing_a_prefix_each_get_their_own_process(stop_all: None) -> None:
    # Given two sessions of two users whose ids share their first 8 hex,
    create_session(USER_A, SESSION_A, 7200)
    create_session(USER_B, SESSION_B, 7200)
    first = create_environment(SESSION_A, 10)
    second = create_environment(SESSION_B, 10)
    # then each has its own folder and process, recorded under its full session id,
    assert (first["pod_name"], second["pod_name"]) == (
        "exam-33333333", "exam-33333333222242228222222222222222")
    a, b = _process(first["pod_name"]), _process(second["pod_name"])
    assert a != b and a.is_alive() and b.is_alive()
    for name, sid in ((first["pod_name"], SESSION_A), (second["pod_name"], SESSION_B)):
        assert json.loads((_folder(name) / "pid").read_text())["session_id"] == sid
    for sid in (SESSION_A, SESSION_B):
        transition(sid, SessionState.RUNNING, None)
    # when the second is destroyed,
    destroy_environment(SESSION_B)
    # then only its process stopped; the first stays ready, for its owner alone.
    assert not b.is_alive() and a.is_alive()
    assert not _folder(second["pod_name"]).exists()
    assert environment_status(SESSION_A)["ready"] is True
    assert environment_status(SESSION_B) | {"status": "destroyed", "ready": False} == \
        environment_status(SESSION_B)
    assert authorize(SESSION_A, USER_A)["authorized"] is True
    _denied(SESSION_A, USER_B)
    _denied(SESSION_B, USER_B)


def test_a_folder_another_session_owns_is_never_adopted_nor_removed(stop_all: None) -> None:
    # Given a live environment process of session A under the short name (made outside
    # this store: the store alone would have given B the longer name),
    settings = get_exam_settings()
    spec_a = EnvironmentSpec(session_id=SESSION_A, user_id=USER_A, pod_name="exam-33333333",
                             namespace=settings.namespace, settings=settings)
    spec_b = EnvironmentSpec(session_id=SESSION_B, user_id=USER_B, pod_name="exam-33333333",
                             namespace=settings.namespace, settings=settings)
    backend = LocalBackend()
    handle = backend.start(spec_a, None)
    assert backend.wait_ready(spec_a, handle, 10).ready
    # B's start is refused, B's delete leaves it, and it never counts as B's ready one;
    with pytest.raises(ContractError) as caught:
        backend.start(spec_b, None)
    assert caught.value.details["reason"] == \
        "environment name exam-33333333 is taken by another session"
    backend.delete(spec_b, handle)
    assert not backend.is_ready(spec_b, handle)
    # and A's own environment is untouched.
    assert ProcessRef.from_json(handle).is_alive()  # type: ignore[union-attr]
    assert backend.is_ready(spec_a, handle)
    backend.delete(spec_a, handle)
    assert not _folder("exam-33333333").exists()


def test_a_folder_that_cannot_be_removed_is_a_destroy_failure(stop_all: None) -> None:
    # Given an environment whose folder is a mount point (it cannot be removed),
    create_session(USER_A, SESSION_A, 7200)
    with small_tmpfs(_folder("exam-33333333"), size_kib=1024):
        created = create_environment(SESSION_A, 10)
        ref = _process(created["pod_name"])
        # destroy stops the process but reports that it could not release everything;
        with pytest.raises(ContractError) as caught:
            destroy_environment(SESSION_A)
        err = caught.value
        assert (err.code, err.message, err.exit_code) == (
            "ENVIRONMENT_DESTROY_FAILED", "Failed to destroy execution environment", 1)
        assert err.details["session_id"] == SESSION_A
        assert "cannot remove the environment folder" in err.details["reason"]
        assert not ref.is_alive()
        assert environment_status(SESSION_A)["status"] == "terminating"
    # once the folder can go, destroying again finishes the job.
    assert destroy_environment(SESSION_A)["destroyed_at"]
    assert environment_status(SESSION_A)["status"] == "destroyed"
