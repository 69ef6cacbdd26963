"""Two deliveries of one job running side by side: the first to finish is the outcome,
in the row and in the result backend alike, though the second finishes later."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis

from config.celery_app import create_app
from config.settings import get_settings
from store import jobs

pytestmark = pytest.mark.integration


def test_a_late_duplicate_does_not_overwrite_the_first_outcome(
        start_worker, job_env: dict[str, str], tmp_path: Path) -> None:
    start_worker(["default"], concurrency=4)
    app = create_app(get_settings())
    job_id = str(uuid.uuid4())
    kwargs = {"marker_dir": str(tmp_path)}
    first = app.send_task("tests.support.tasks.stamped", kwargs=kwargs, task_id=job_id)
    app.send_task("tests.support.tasks.stamped", kwargs=kwargs, task_id=job_id)
    try:
        assert first.get(timeout=30) == {"delivery": 1}
        # Acks come late, after the result is stored: once neither message is left in the
        # queue or unacknowledged, the duplicate has finished and tried to store its own.
        broker = redis.Redis.from_url(job_env["CONVEYOR_BROKER_URL"])
        deadline = time.monotonic() + 30
        while broker.llen("default") or broker.hlen("unacked"):
            assert time.monotonic() < deadline, "the duplicate never finished"
            time.sleep(0.05)
        assert sorted(path.name for path in tmp_path.glob("delivery-*")) == \
            ["delivery-1", "delivery-2"]
        row = jobs.get_job(job_id)
        assert row is not None
        assert (row["status"], row["result"], row["attempts"]) == \
            ("succeeded", {"delivery": 1}, 2)
        app.backend._cache.clear()
        assert app.backend.get_task_meta(job_id)["result"] == {"delivery": 1}
    finally:
        app.close()
