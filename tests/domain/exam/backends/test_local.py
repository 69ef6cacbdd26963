"""The local backend: a working folder and a supervised process per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.errors import ContractError
from config.exam import get_exam_settings
from config.processes import ProcessRef
from domain.exam.backends.base import EnvironmentSpec
from domain.exam.backends.local import LocalBackend
from domain.exam.environments import create_environment, destroy_environment, environment_status
from domain.exam.sessions import create_session, get_session

USER = "550e8400-e29b-41d4-a716-446655440000"
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


@pytest.fixture
def spec() -> Iterator[EnvironmentSpec]:
    made = EnvironmentSpec(session_id=SESSION, user_id=USER, pod_name="exam-6ba7b810",
                           namespace="exam-sessions", settings=get_exam_settings())
    yield made
    LocalBackend().delete(made, None)  # never leave a process behind


def test_start_wait_adopt_delete(spec: EnvironmentSpec, conveyor_home: Path) -> None:
    backend = LocalBackend()
    handle = backend.start(spec, None)
    folder = Path(handle["folder"])
    assert folder == conveyor_home / "exam" / "environments" / "exam-sessions" / "exam-6ba7b810"
    assert backend.wait_ready(spec, handle, 10).ready
    assert backend.is_ready(spec, handle)
    # A second start (a redelivered job) adopts the running process.
    assert backend.start(spec, None)["pid"] == handle["pid"]
    ref = ProcessRef.from_json(handle)
    assert ref is not None and ref.is_alive()
    backend.delete(spec, handle)
    assert not ref.is_alive() and not folder.exists()
    assert not backend.is_ready(spec, handle)
    backend.delete(spec, handle)  # nothing left: not an error


def test_a_process_that_exits_fails_like_a_crash_loop(
        spec: EnvironmentSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXAM_LOCAL_COMMAND", "sh -c 'exit 3'")
    create_session(USER, SESSION, 7200)
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 10)
    assert caught.value.details["reason"].startswith("CrashLoopBackOff")
    assert get_session(SESSION).state == "failed"
    assert environment_status(SESSION)["status"] == "error"


def test_a_process_never_ready_times_out(spec: EnvironmentSpec,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXAM_LOCAL_COMMAND", "sleep 30")
    create_session(USER, SESSION, 7200)
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 1)
    assert caught.value.details["reason"] == "Pod creation timeout after 1 seconds"
    folder = get_exam_settings().local_namespace_dir / "exam-6ba7b810"
    assert not folder.exists()  # the process was stopped and its folder removed


def test_the_whole_create_and_destroy(spec: EnvironmentSpec) -> None:
    create_session(USER, SESSION, 7200)
    created = create_environment(SESSION, 10)
    assert created["status"] == "running" and environment_status(SESSION)["ready"] is True
    destroyed = destroy_environment(SESSION)
    assert destroyed["environment_id"] == created["environment_id"]
    assert environment_status(SESSION) | {"ready": False} == environment_status(SESSION)
    assert environment_status(SESSION)["status"] == "destroyed"


def test_a_symlinked_folder_is_refused(spec: EnvironmentSpec, tmp_path: Path) -> None:
    root = spec.settings.local_namespace_dir
    root.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / spec.pod_name)
    with pytest.raises(ContractError):
        LocalBackend().start(spec, None)
    assert list(outside.iterdir()) == []


def test_concurrent_creates_of_one_session_share_one_process(spec: EnvironmentSpec) -> None:
    import threading

    create_session(USER, SESSION, 7200)
    barrier = threading.Barrier(3)
    results: list[dict[str, object]] = []

    def deliver() -> None:
        barrier.wait()
        results.append(create_environment(SESSION, 10))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and {r["status"] for r in results} == {"running"}
    assert len({r["environment_id"] for r in results}) == 1
    assert environment_status(SESSION)["ready"] is True  # nobody deleted it
