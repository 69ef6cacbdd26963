"""A job whose message a dying worker popped comes back within the visibility timeout.

The drill takes the message off its Redis list itself, as a worker's BRPOP does just
before the worker is killed (and before kombu records it as unacknowledged): nothing
is left in Redis, the row says queued. A sweeps worker's lost-job scan
(workers/lost_jobs.py) must publish it again within after_s + scan_s.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from store import jobs
from tests.conftest import TEST_VISIBILITY_TIMEOUT_S

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_popped_and_lost_message_is_republished_within_the_visibility_timeout(
        start_worker: Any, celery_client: Any, redis_db: Any) -> None:
    start_worker(["sweeps"])
    job = celery_client.submit("tasks.probe.probe", {}, queue="default", require_worker=False)
    client = redis_db.client()
    deadline = time.monotonic() + 10
    while not client.llen("default"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert client.rpop("default") is not None  # the dying worker's BRPOP
    lost_at = time.monotonic()
    deadline = lost_at + 30
    while not client.llen("default"):
        assert time.monotonic() < deadline, "the lost job was never published again"
        time.sleep(0.05)
    back_after_s = time.monotonic() - lost_at
    start_worker(["default"])
    assert celery_client.wait(job, timeout_s=30)["ok"] is True
    row = jobs.get_job(job.job_id)
    assert row is not None and row["status"] == "succeeded"
    visibility_s = float(TEST_VISIBILITY_TIMEOUT_S)
    print(f"lost job: republished {back_after_s:.2f} s after its message was lost "
          f"(visibility timeout {visibility_s:g} s)")
    assert back_after_s < visibility_s
