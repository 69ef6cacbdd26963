"""Exam jobs through real Redis and real worker processes (the local backend)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from config.processes import ProcessRef
from tests.support.cli import json_out, run_cli
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.integration]

USER = "550e8400-e29b-41d4-a716-446655440000"
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def _env_processes(session_id: str) -> list[int]:
    """Live processes started as this session's environment."""
    needle = f"EXAM_SESSION_ID={session_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and \
                    ProcessRef.of(int(entry.name)).is_alive():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _jobs(kind: str) -> list[dict[str, object]]:
    listed = run_cli("conveyor", "jobs", "list", "--json", "--kind", kind)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, object]] = json_out(listed)
    return rows


def test_create_sweep_and_destroy_through_the_queues(job_env: dict[str, str], start_worker,
                                                     conveyor_home: Path) -> None:
    start_worker(["environments", "sweeps"])
    assert run_cli("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION,
                   "--duration-seconds", "3600").returncode == 0
    created = run_cli("execution-environment", "create", "--session-id", SESSION)
    assert created.returncode == 0, created.stderr
    assert json_out(created)["status"] == "running"
    (job,) = _jobs("tasks.environments.create")
    assert (job["queue"], job["status"], job["attempts"]) == ("environments", "succeeded", 1)
    assert len(_env_processes(SESSION)) == 1

    run_cli("session-lifecycle", "transition", "--session-id", SESSION, "--to", "running")
    run_cli("session-lifecycle", "transition", "--session-id", SESSION, "--to", "terminated")
    swept = run_cli("cleanup-ttl", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert json_out(swept)["cleaned_session_ids"] == [SESSION]
    (sweep_job,) = _jobs("tasks.sweeps.exam_cleanup_ttl")
    assert sweep_job["queue"] == "sweeps"
    (destroy_job,) = _jobs("tasks.environments.destroy")
    # The sweep sent the destroy, and the CLI returned once it had finished.
    assert destroy_job["correlation_id"] == sweep_job["id"]
    assert destroy_job["status"] == "succeeded" and destroy_job["queue"] == "environments"
    assert _env_processes(SESSION) == []
    status = json_out(run_cli("execution-environment", "status", "--session-id", SESSION))
    assert status["status"] == "destroyed" and status["ready"] is False


def test_a_killed_workers_create_is_redelivered_and_adopts_the_process(
        job_env: dict[str, str], start_worker, redis_db, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # An environment that takes a while to become ready, so the worker dies mid-wait.
    slow = "sh -c 'sleep 3; touch ready; exec sleep 120'"
    monkeypatch.setenv("CONVEYOR_EXAM_LOCAL_COMMAND", slow)
    env = {**job_env, "CONVEYOR_EXAM_LOCAL_COMMAND": slow}
    first = WorkerProcess(env, ["environments"], tmp_path, name="doomed").start()
    first.wait_ready(redis_db.client())
    try:
        assert run_cli("session-lifecycle", "create", "--user-id", USER, "--session-id",
                       SESSION).returncode == 0
        submitted = run_cli("execution-environment", "create", "--session-id", SESSION,
                            "--no-wait")
        assert submitted.returncode == 0, submitted.stderr
        job_id = json_out(submitted)["job_id"]
        pid_record = (Path(job_env["CONVEYOR_HOME"]) / "exam" / "environments" /
                      "exam-sessions" / "exam-6ba7b810" / "pid")
        deadline = time.monotonic() + 30
        while not pid_record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        started_pid = json.loads(pid_record.read_text())["pid"]
        # When the worker dies while the environment is starting,
        first.kill()
    finally:
        first.stop()
    # a new worker gets the job again and adopts the process the first one started.
    start_worker(["environments"])
    waited = run_cli("conveyor", "jobs", "wait", job_id, "--timeout", "60")
    assert waited.returncode == 0, waited.stderr
    row = json_out(waited)
    assert row["status"] == "succeeded" and row["attempts"] == 2
    assert row["result"]["status"] == "running"
    assert _env_processes(SESSION) == [started_pid]
    destroyed = run_cli("execution-environment", "destroy", "--session-id", SESSION)
    assert destroyed.returncode == 0, destroyed.stderr
    assert _env_processes(SESSION) == []


def test_kubernetes_api_failures_are_retried_then_fail_the_session(
        job_env: dict[str, str], redis_db, tmp_path: Path) -> None:
    from workers.ports import free_port

    # Given a cluster whose API server does not answer,
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "down",
        "clusters": [{"name": "down", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "down", "context": {"cluster": "down", "user": "u"}}]}))
    settings = {"CONVEYOR_EXAM_BACKEND": "kubernetes", "CONVEYOR_EXAM_KUBECONFIG": str(kubeconfig),
                "CONVEYOR_EXAM_API_RETRY_BASE_S": "0.05", "CONVEYOR_EXAM_API_RETRY_CAP_S": "0.2"}
    worker = WorkerProcess({**job_env, **settings}, ["environments"], tmp_path).start()
    worker.wait_ready(redis_db.client())
    try:
        assert run_cli("session-lifecycle", "create", "--user-id", USER, "--session-id",
                       SESSION).returncode == 0
        # when an environment is asked for,
        failed = run_cli("execution-environment", "create", "--session-id", SESSION,
                         env={**os.environ, **settings})
    finally:
        worker.stop()
    # then the job tried 4 times (3 retries) and answered with the contract's failure,
    assert failed.returncode == 1, failed.stderr
    error = json.loads(failed.stderr)
    assert error["code"] == "ENVIRONMENT_CREATE_FAILED"
    assert error["details"]["reason"].startswith("Kubernetes API unavailable")
    (job,) = _jobs("tasks.environments.create")
    assert (job["status"], job["attempts"], job["last_exit_code"]) == ("failed", 4, 1)
    # and the session did not stay initializing.
    status = json_out(run_cli("session-lifecycle", "status", "--session-id", SESSION))
    assert status["state"] == "failed" and status["reason"].startswith("Kubernetes API")
