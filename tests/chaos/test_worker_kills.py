"""Workers SIGKILLed every few seconds under a load of mixed jobs on every queue."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from common.errors import JobSystemError
from config.queues import QUEUES
from store import jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

JOBS = 1000
KILL_EVERY_S = 2.0
# What beat does every minute in production, done often here so the drill stays short.
RECONCILE_EVERY_S = 3.0
RECONCILE_AFTER_S = 5.0
DRILL_DEADLINE_S = 420.0


def _beat(celery_client: Any, stop: threading.Event, sent: list[Any]) -> None:
    """Send the reconcile sweep through the queues as beat would.

    A worker killed between Redis serving its BRPOP and recording the message as
    unacknowledged takes that message with it; the sweep republishes such jobs."""
    while not stop.wait(RECONCILE_EVERY_S):
        try:
            sent.append(celery_client.submit("tasks.sweeps.reconcile_jobs",
                                             {"older_than_s": RECONCILE_AFTER_S},
                                             queue="sweeps"))
        except JobSystemError:  # no sweeps consumer this instant: the next tick sends it
            continue


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

    sweeps: list[Any] = []
    threads = [threading.Thread(target=killer),
               threading.Thread(target=_beat, args=(celery_client, stop, sweeps))]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    rng = random.Random(7)
    submitted = []
    for index in range(JOBS):
        queue = QUEUES[index % len(QUEUES)]
        if index % 4 == 0:
            job = celery_client.submit("tests.support.tasks.flaky_durable", {"fail_times": 1},
                                       queue=queue)
        else:
            kwargs = {"marker_dir": str(marker), "key": f"k{index}",
                      "sleep_ms": rng.randint(100, 300)}
            job = celery_client.submit("tests.support.tasks.effect", kwargs, queue=queue)
        submitted.append(job)

    results: list[Any] = []
    unfinished: list[str] = []
    deadline = started + DRILL_DEADLINE_S
    try:
        for job in submitted:
            try:
                results.append(celery_client.wait(
                    job, timeout_s=max(1.0, deadline - time.monotonic())))
            except JobSystemError as exc:
                unfinished.append(f"{job.job_id}: {exc}")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - started

    rows = [jobs.get_job(job.job_id) for job in submitted]
    statuses = Counter(r["status"] if r else "missing" for r in rows)
    assert not unfinished, f"{len(unfinished)} jobs unfinished: {unfinished[:5]}; {statuses}"
    assert statuses == {"succeeded": JOBS}, statuses
    assert all(r is not None and r["attempts"] >= 1 for r in rows)
    effect_keys = {r["key"] for r in results if isinstance(r, dict) and "key" in r}
    assert {p.name for p in (marker / "effects").iterdir()} == effect_keys
    executions = Counter((marker / "executions.log").read_text().split())
    redelivered = sum(1 for r in rows if r is not None and r["attempts"] > 1)
    republished = _republished(sweeps)
    print(f"worker kills: {JOBS} jobs on {len(QUEUES)} queues in {elapsed:.0f} s, "
          f"{kills} workers SIGKILLed, {statuses['succeeded']} succeeded, "
          f"{len(effect_keys)} effects applied once, "
          f"{sum(executions.values()) - len(executions)} effect re-executions, "
          f"{redelivered} jobs with attempts > 1, {len(sweeps)} reconcile sweeps sent, "
          f"{republished} lost messages republished")
    assert kills >= 1


def _republished(sweeps: list[Any]) -> int:
    """Jobs the finished sweeps republished (a sweep killed mid-way has no result)."""
    count = 0
    for sweep in sweeps:
        row = jobs.get_job(sweep.job_id)
        result = row.get("result") if row else None
        if isinstance(result, dict):
            count += len(result.get("republished", []))
    return count
