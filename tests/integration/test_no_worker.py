"""Submit-and-wait never hangs: no worker means a clear error within seconds."""

from __future__ import annotations

import time

import pytest

from common.errors import JobSystemError
from tests.support.cli import json_err, json_out, run_cli

pytestmark = pytest.mark.integration


def test_submitting_to_a_queue_nobody_consumes_fails_fast(job_env, celery_client) -> None:
    started = time.monotonic()
    with pytest.raises(JobSystemError) as caught:
        celery_client.submit("tasks.probe.probe", {}, queue="pipelines")
    assert caught.value.reason == "no_worker"
    assert "pipelines" in caught.value.message
    assert time.monotonic() - started < 5


def test_waiting_stops_when_the_only_worker_goes_away(start_worker, celery_client) -> None:
    worker = start_worker(["default"])
    job = celery_client.submit("tasks.probe.probe", {"sleep_ms": 20_000})
    worker.stop()
    started = time.monotonic()
    with pytest.raises(JobSystemError) as caught:
        celery_client.wait(job, timeout_s=60)
    assert caught.value.reason == "no_worker"
    assert caught.value.details["job_id"] == job.job_id
    assert time.monotonic() - started < 10


def test_cli_check_reports_the_missing_queue(start_worker, job_env) -> None:
    start_worker(["default"])
    result = run_cli("conveyor", "check", "--queue", "default", "--queue", "oord",
                     "--timeout", "5", env=job_env)
    assert result.returncode == 3, result.stderr  # the job system cannot serve 'oord'
    report = json_out(result)
    assert report["mode"] == "configured"
    by_name = {q["name"]: q for q in report["queues"]}
    assert by_name["default"]["ok"] is True and by_name["default"]["latency_ms"] > 0
    assert by_name["oord"]["ok"] is False and "no worker" in by_name["oord"]["error"]
    assert by_name["oord"]["reason"] == "no_worker"


def test_no_wait_then_jobs_wait(start_worker, job_env) -> None:
    start_worker(["sweeps"])
    submitted = run_cli("conveyor", "jobs", "prune", "--no-wait", env=job_env)
    assert submitted.returncode == 0, submitted.stderr
    job = json_out(submitted)
    assert job["status"] == "queued" and job["queue"] == "sweeps"

    waited = run_cli("conveyor", "jobs", "wait", job["job_id"], "--timeout", "30", env=job_env)
    assert waited.returncode == 0, waited.stderr
    row = json_out(waited)
    assert row["status"] == "succeeded"
    assert row["result"] == {"deleted": 0, "older_than_days": 30}


def test_jobs_wait_on_an_unknown_id_is_not_found(job_env) -> None:
    result = run_cli("conveyor", "jobs", "wait", "no-such-job", env=job_env)
    assert result.returncode == 4
    assert json_err(result)["code"] == "JOB_NOT_FOUND"



def test_a_client_that_saw_a_worker_asks_again_once_the_sighting_is_old(
        start_worker, celery_client) -> None:
    """A client skips the consumer check for one interval after seeing a worker
    (cli/jobs_client.py): after that, a gone worker is a no_worker error again."""
    from cli.jobs_client import CONSUMER_CHECK_EVERY_S

    worker = start_worker(["default"])
    celery_client.wait(celery_client.submit("tasks.probe.probe", {}), timeout_s=30)
    worker.stop()
    time.sleep(CONSUMER_CHECK_EVERY_S)
    started = time.monotonic()
    with pytest.raises(JobSystemError) as caught:
        celery_client.submit("tasks.probe.probe", {})
    assert caught.value.reason == "no_worker"
    assert time.monotonic() - started < 5
