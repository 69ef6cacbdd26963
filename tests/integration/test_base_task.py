"""The persisted base task against real Redis and a real worker process."""

from __future__ import annotations

import time
from typing import Any

import pytest

from common.errors import ContractError, JobSystemError
from store import jobs

pytestmark = pytest.mark.integration


def _wait_for_status(job_id: str, status: str, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = jobs.get_job(job_id)
        if row is not None and row["status"] == status:
            return row
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {status}: {jobs.get_job(job_id)}")


def test_a_probe_job_is_recorded_from_publish_to_success(start_worker, celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tasks.probe.probe", {"sent_at": 1.0})
    assert jobs.get_job(job.job_id) is not None  # queued before the message went out
    result = celery_client.wait(job, timeout_s=30)
    assert result["ok"] is True and result["queue"] == "default"
    row = jobs.get_job(job.job_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["last_exit_code"]) == ("succeeded", 1, 0)
    assert row["correlation_id"] == job.job_id
    assert row["worker"].startswith("test-")


def test_retries_persist_attempts_next_retry_and_last_error(start_worker, celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.flaky_slow", {"fail_times": 1})
    # Given one transient failure, the row waits out its countdown as `retrying` ...
    row = _wait_for_status(job.job_id, "retrying")
    assert row["attempts"] == 1
    assert row["last_error"] == "flaky failure 1 of 1"
    assert row["next_retry_at"] is not None and row["next_retry_at"] > row["updated_at"][:-5]
    # ... then the second attempt succeeds.
    assert celery_client.wait(job, timeout_s=30) == {"ok": True, "retries": 1}
    row = jobs.get_job(job.job_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["next_retry_at"]) == ("succeeded", 2, None)


def test_retries_stop_at_max_attempts(start_worker, celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.flaky", {"fail_times": 10})
    with pytest.raises(ContractError) as caught:
        celery_client.wait(job, timeout_s=30)
    assert caught.value.code == "RETRIES_EXHAUSTED"
    row = jobs.get_job(job.job_id)
    assert row is not None
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["last_error"] == "flaky failure 3 of 10"


def test_contract_errors_reach_the_client_whole(start_worker, celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.refuse",
                               {"code": "ACCESS_DENIED", "exit_code": 5})
    with pytest.raises(ContractError) as caught:
        celery_client.wait(job, timeout_s=30)
    assert (caught.value.code, caught.value.exit_code) == ("ACCESS_DENIED", 5)
    assert caught.value.details == {"asked": "ACCESS_DENIED"}
    row = jobs.get_job(job.job_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["last_exit_code"]) == ("failed", 1, 5)


def test_a_crashing_task_is_not_retried_and_leaks_nothing(start_worker, celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.crash", {})
    with pytest.raises(JobSystemError) as caught:
        celery_client.wait(job, timeout_s=30)
    assert caught.value.reason == "job_crashed"
    assert "secret internal detail" not in caught.value.message
    row = jobs.get_job(job.job_id)
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1)
