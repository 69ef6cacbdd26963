"""Redis restarted in the middle of a batch while clients wait: no job lost."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from common.errors import JobSystemError
from store import jobs
from tests.support.cli import json_out, run_cli, start_submit_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 60


def test_a_redis_restart_mid_batch_loses_no_job(job_env, start_worker, celery_client,
                                                redis_db, tmp_path: Path) -> None:
    worker = start_worker(["default", "sweeps"], concurrency=4)
    marker = tmp_path / "marker"
    marker.mkdir()
    cli = start_submit_and_wait("tests.support.tasks.blocking", {"marker_dir": str(marker)},
                                job_env)
    submitted = [celery_client.submit("tasks.probe.probe", {"sleep_ms": 50})
                 for _ in range(BATCH)]
    outcomes: dict[str, Any] = {}

    def wait_all() -> None:
        for job in submitted:
            try:
                outcomes[job.job_id] = celery_client.wait(job, timeout_s=120)
            except JobSystemError as exc:  # failing clearly is allowed; hanging is not
                outcomes[job.job_id] = exc

    waiter = threading.Thread(target=wait_all)
    waiter.start()
    # The CLI is waiting (its job runs on the worker) and part of the batch is done; on a
    # loaded machine the CLI may take a while to start and submit.
    started = marker / "log"
    deadline = time.monotonic() + 60
    while not (started.exists() and "started" in started.read_text()) or sum(
            1 for r in jobs.list_jobs(limit=BATCH) if r["status"] == "succeeded") < 5:
        assert time.monotonic() < deadline, "the CLI's job never started"
        assert cli.poll() is None, cli.communicate()
        time.sleep(0.02)

    # When Redis goes away and comes back with its data ...
    redis_db.restart()
    (marker / "release").touch()

    # ... the waiting client and the waiting CLI resume, and a new CLI works too.
    waiter.join(timeout=180)
    assert not waiter.is_alive(), "the wait hung"
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert json.loads(out)["result"] == {"ok": True}
    # A worker acking a message on the channel the restart broke can die of kombu's
    # "unrecoverable" AttributeError; deployments restart it (docker-compose
    # `restart: unless-stopped`), and so does the drill. Its held messages come back
    # after the visibility timeout.
    workers_restarted = 0
    # Workers reconnect with Celery's backoff (2 s, 4 s, ...) and then announce themselves
    # again; until then a new CLI rightly says no worker consumes 'default'. It must work
    # once they are back.
    deadline = time.monotonic() + 90
    while True:
        if worker.process is not None and worker.process.poll() is not None:
            worker = start_worker(["default", "sweeps"], concurrency=4)
            workers_restarted += 1
        check = run_cli("conveyor", "check", "--queue", "default", "--timeout", "60",
                        env=job_env)
        if check.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json_out(check)["ok"] is True

    failed_clearly = [v for v in outcomes.values() if isinstance(v, JobSystemError)]
    assert all(v.reason in ("broker_unavailable", "wait_timeout") for v in failed_clearly)
    # A message taken off its queue just as Redis stopped is lost with it; the reconcile
    # sweep (beat runs it every minute) publishes such jobs again from their rows.
    reconciled = run_cli("conveyor", "jobs", "reconcile", "--older-than-s", "0", env=job_env)
    assert reconciled.returncode == 0, reconciled.stderr
    republished = json_out(reconciled)["republished"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = [jobs.get_job(job.job_id) for job in submitted]
        if all(r is not None and r["status"] == "succeeded" for r in rows):
            break
        time.sleep(0.2)
    statuses = [r["status"] if r else None for r in rows]
    assert statuses.count("succeeded") == BATCH, statuses
    print(f"redis restart: {BATCH} jobs, {BATCH} succeeded, "
          f"{len(outcomes) - len(failed_clearly)} waits resumed, "
          f"{len(failed_clearly)} failed clearly, {len(republished)} lost messages republished, "
          f"{workers_restarted} workers restarted after dying on the lost connection")
