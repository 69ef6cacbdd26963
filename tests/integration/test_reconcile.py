"""Jobs whose message the broker lost are published again from their rows."""

from __future__ import annotations

import json

import pytest

from store import jobs
from workers.reconcile import reconcile, task_ids_in_broker

pytestmark = pytest.mark.integration


def _drop_message(client, queue: str, job_id: str) -> None:  # type: ignore[no-untyped-def]
    for raw in client.lrange(queue, 0, -1):
        if json.loads(raw)["headers"]["id"] == job_id:
            client.lrem(queue, 1, raw)
            return
    raise AssertionError(f"no message for {job_id} in {queue}")


def test_a_lost_message_is_republished_and_a_held_one_is_not(job_env, redis_db, celery_client,
                                                             start_worker) -> None:
    client = redis_db.client()
    kept = celery_client.submit("tasks.probe.probe", {}, queue="oord", require_worker=False)
    lost = celery_client.submit("tasks.probe.probe", {}, queue="oord", require_worker=False)
    assert task_ids_in_broker(client) == {kept.job_id, lost.job_id}

    # When Redis loses one message (as when it stops between BRPOP and the unacked record) ...
    _drop_message(client, "oord", lost.job_id)
    outcome = reconcile(celery_client.app, older_than_s=0)

    # ... only that job is published again, and both finish once a worker comes.
    assert outcome["republished"] == [lost.job_id]
    assert outcome["checked"] == 2
    row = jobs.get_job(lost.job_id)
    assert row is not None and row["status"] == "queued"
    assert "republished" in (row["last_error"] or "")
    start_worker(["oord"])
    for job in (kept, lost):
        assert celery_client.wait(job, timeout_s=30)["ok"] is True
    assert reconcile(celery_client.app, older_than_s=0) == {"checked": 0, "republished": []}


def test_young_jobs_are_left_alone(job_env, redis_db, celery_client) -> None:
    job = celery_client.submit("tasks.probe.probe", {}, queue="oord", require_worker=False)
    _drop_message(redis_db.client(), "oord", job.job_id)
    assert reconcile(celery_client.app, older_than_s=3600) == {"checked": 0, "republished": []}
