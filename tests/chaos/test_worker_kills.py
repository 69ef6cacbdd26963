"""Workers SIGKILLed every few seconds under a load of mixed jobs on every queue."""

from __future__ import annotations

import random
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest

from config.queues import QUEUES
from store import jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JOBS = 1000
KILL_EVERY_S = 2.0


def test_no_job_is_lost_when_workers_keep_dying(job_env, start_worker, celery_client,
                                                tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    (marker / "effects").mkdir(parents=True)
    workers = [start_worker(list(QUEUES), concurrency=4) for _ in range(3)]
    kills = 0
    stop = threading.Event()

    def killer() -> None:
        nonlocal kills
        while not stop.wait(KILL_EVERY_S):
            victim = workers.pop(0)
            victim.kill(signal.SIGKILL)
            kills += 1
            workers.append(start_worker(list(QUEUES), concurrency=4))

    thread = threading.Thread(target=killer)
    thread.start()
    rng = random.Random(7)
    submitted = []
    for index in range(JOBS):
        queue = QUEUES[index % len(QUEUES)]
        if index % 4 == 0:
            job = celery_client.submit("tests.support.tasks.flaky", {"fail_times": 1},
                                       queue=queue)
        else:
            kwargs = {"marker_dir": str(marker), "key": f"k{index}",
                      "sleep_ms": rng.randint(50, 150)}
            job = celery_client.submit("tests.support.tasks.effect", kwargs, queue=queue)
        submitted.append(job)

    try:
        results = [celery_client.wait(job, timeout_s=300) for job in submitted]
    finally:
        stop.set()
        thread.join()

    rows = [jobs.get_job(job.job_id) for job in submitted]
    statuses = Counter(r["status"] if r else "missing" for r in rows)
    assert statuses == {"succeeded": JOBS}, statuses
    assert all(r is not None and r["attempts"] >= 1 for r in rows)
    effect_keys = {r["key"] for r in results if isinstance(r, dict) and "key" in r}
    assert {p.name for p in (marker / "effects").iterdir()} == effect_keys
    executions = Counter((marker / "executions.log").read_text().split())
    redelivered = sum(1 for r in rows if r is not None and r["attempts"] > 1)
    print(f"worker kills: {JOBS} jobs on {len(QUEUES)} queues, {kills} workers SIGKILLed, "
          f"{statuses['succeeded']} succeeded, {len(effect_keys)} effects applied once, "
          f"{sum(executions.values()) - len(executions)} effect re-executions, "
          f"{redelivered} jobs with attempts > 1")
    assert kills >= 1
