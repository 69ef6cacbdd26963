"""`conveyor jobs cancel|retry|list` against real Redis and real worker processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from common.errors import JobSystemError
from store import jobs
from tests.support.cli import json_err, json_out, run_cli, start_submit_and_wait
from workers.reconcile import reconcile

pytestmark = pytest.mark.integration

BLOCKING = "tests.support.tasks.blocking"


def _wait_for_status(job_id: str, status: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = jobs.get_job(job_id)
        if row is not None and row["status"] == status:
            return row
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {status}: {jobs.get_job(job_id)}")


def test_a_canceled_queued_job_never_runs_and_is_never_requeued(
        job_env, celery_client, start_worker, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.mkdir()
    (marker / "release").touch()
    job = celery_client.submit(BLOCKING, {"marker_dir": str(marker)}, require_worker=False)

    canceled = run_cli("conveyor", "jobs", "cancel", job.job_id, env=job_env)
    assert canceled.returncode == 0, canceled.stderr
    assert json_out(canceled) == {"job_id": job.job_id, "status": "canceled", "was": "queued",
                                  "revoked": True}
    # The sweep that republishes lost messages leaves a canceled job alone ...
    assert reconcile(celery_client.app, older_than_s=0) == {"checked": 0, "republished": []}
    # ... and a worker started after the revoke (it never heard of it) does not run it.
    start_worker(["default"])
    with pytest.raises(JobSystemError) as caught:
        celery_client.wait(job, timeout_s=30)
    assert caught.value.reason == "job_canceled"
    assert not (marker / "log").exists()
    row = jobs.get_job(job.job_id)
    assert row is not None and row["status"] == "canceled" and row["attempts"] == 0

    again = run_cli("conveyor", "jobs", "cancel", job.job_id, env=job_env)
    assert again.returncode == 0 and json_out(again)["was"] == "canceled"
    waited = run_cli("conveyor", "jobs", "wait", job.job_id, env=job_env)
    assert waited.returncode == 1 and json_out(waited)["status"] == "canceled"


def test_a_waiting_cli_is_told_its_running_job_was_canceled(
        job_env, start_worker, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.mkdir()
    start_worker(["default"])
    waiter = start_submit_and_wait(BLOCKING, {"marker_dir": str(marker)}, job_env)
    try:
        deadline = time.monotonic() + 30
        while not (marker / "log").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        listed = json_out(run_cli("conveyor", "jobs", "list", "--status", "running",
                                  "--kind", BLOCKING, "--json", env=job_env))
        assert len(listed) == 1
        job_id = listed[0]["id"]
        canceled = run_cli("conveyor", "jobs", "cancel", job_id, env=job_env)
        assert json_out(canceled)["was"] == "running"
        (marker / "release").touch()  # a thread cannot be stopped: the body runs out
        _, stderr = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 1
    error = json.loads(stderr)
    assert error["details"]["reason"] == "job_canceled"
    assert error["details"]["job_id"] == job_id
    row = jobs.get_job(job_id)
    assert row is not None and row["status"] == "canceled" and row["result"] is None


def test_retry_publishes_a_linked_new_job_with_the_same_arguments(
        job_env, celery_client, start_worker) -> None:
    start_worker(["default"])
    refused = celery_client.submit("tests.support.tasks.refuse",
                                   {"code": "NOPE", "exit_code": 3})
    with pytest.raises(Exception, match="NOPE"):
        celery_client.wait(refused, timeout_s=30)

    retried = run_cli("conveyor", "jobs", "retry", refused.job_id, env=job_env)
    assert retried.returncode == 0, retried.stderr
    answer = json_out(retried)
    assert answer["retry_of"] == refused.job_id and answer["was"] == "failed"
    assert answer["job_id"] != refused.job_id
    row = _wait_for_status(answer["job_id"], "failed")
    old = jobs.get_job(refused.job_id)
    assert old is not None
    assert row["retry_of"] == refused.job_id and row["args"] == old["args"]
    assert row["kind"] == old["kind"] and row["queue"] == old["queue"]
    assert row["attempts"] == 1 and old["status"] == "failed"  # the old row is untouched

    # The list filters find both by their error code; a succeeded job is not retried.
    found = json_out(run_cli("conveyor", "jobs", "list", "--error", "nope", "--queue",
                             "default", "--since", "10m", "--json", env=job_env))
    assert {r["id"] for r in found} == {refused.job_id, answer["job_id"]}
    probe = celery_client.submit("tasks.probe.probe", {}, queue="default")
    celery_client.wait(probe, timeout_s=30)
    refused_again = run_cli("conveyor", "jobs", "retry", probe.job_id, env=job_env)
    assert refused_again.returncode == 5
    assert json_err(refused_again)["code"] == "JOB_STATE_CONFLICT"


def test_retry_of_a_stuck_job_cancels_it_and_runs_the_new_one(
        job_env, celery_client, start_worker, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.mkdir()
    (marker / "release").touch()
    stuck = celery_client.submit(BLOCKING, {"marker_dir": str(marker)}, require_worker=False)

    young = run_cli("conveyor", "jobs", "retry", stuck.job_id, env=job_env)
    assert young.returncode == 5 and "not stuck" in json_err(young)["message"]

    job_env = {**job_env, "CONVEYOR_RECONCILE_AFTER_S": "0"}
    retried = run_cli("conveyor", "jobs", "retry", stuck.job_id, env=job_env)
    assert retried.returncode == 0, retried.stderr
    assert "no worker consumes queue 'default'" in retried.stderr
    new_id = json_out(retried)["job_id"]
    assert jobs.get_job(stuck.job_id)["status"] == "canceled"  # type: ignore[index]
    start_worker(["default"])
    assert _wait_for_status(new_id, "succeeded")["result"] == {"ok": True}
    assert (marker / "log").read_text() == "started\nfinished\n"  # the old one never ran
