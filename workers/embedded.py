"""The embedded worker: a Celery worker on a thread of the CLI process itself.

Zero configuration: no broker, no separate process. The job still goes through
Celery's serialization, routing and retry machinery (on the memory:// transport)
and through the persisted base task, so its row lands in SQLite like any other.
Tuned so that one CLI call costs milliseconds, not seconds: the transport polls
every 10 ms (celery_app.py), and the worker thread is a daemon that is never
joined, so the process exits at once when the command is done.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from celery import Celery

from config.settings import get_settings

logger = logging.getLogger("conveyor.embedded")

STARTUP_TIMEOUT_S = 30.0

_lock = threading.Lock()
_worker: Any = None
_submitted: set[str] = set()


def ensure_embedded_worker(app: Celery) -> None:
    """Start the in-process worker once; later calls return at once."""
    global _worker
    with _lock:
        if _worker is not None:
            return
        from celery.contrib.testing.worker import TestWorkController
        from celery.result import _set_task_join_will_block

        app.loader.import_default_modules()
        worker = TestWorkController(
            app=app,
            hostname=f"embedded-{os.getpid()}@localhost",
            pool="threads",
            concurrency=get_settings().embedded_concurrency,
            loglevel=get_settings().log_level.upper(),
            logfile=None,
            ready_callback=None,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        thread = threading.Thread(target=worker.start, daemon=True,
                                  name="conveyor-embedded-worker")
        thread.start()
        if not worker._on_started.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError("the embedded worker did not start")
        # Celery refuses result.get() inside a worker's process unless told it is safe;
        # here the waiting thread is the CLI's, not a task's.
        _set_task_join_will_block(False)
        atexit.register(_fail_unfinished_jobs)
        _worker = worker


def track_submitted(job_id: str) -> None:
    """Remember a job this process runs, to mark it failed if the process exits first."""
    _submitted.add(job_id)


def forget_submitted(job_id: str) -> None:
    _submitted.discard(job_id)


def _fail_unfinished_jobs() -> None:
    """The worker dies with this process: say so in the rows of jobs it had not finished."""
    if not _submitted:
        return
    from store import job_writes, jobs
    from store.job_schema import TERMINAL_STATUSES

    for job_id in list(_submitted):
        try:
            row = jobs.get_job(job_id)
            if row is not None and row["status"] not in TERMINAL_STATUSES:
                job_writes.mark_failed(job_id, error="the embedded worker's process exited before "
                                 "the job finished", exit_code=None)
        except Exception:
            logger.debug("could not mark job %s failed at exit", job_id, exc_info=True)
