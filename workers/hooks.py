"""What every process using the Celery app hooks into it: publish records, logging, leases."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from store.job_schema import CORRELATION_HEADER, QUIET_HEADER

logger = logging.getLogger("conveyor.jobs")


def record_published_job(sender: str | None = None, body: Any = None,
                         routing_key: str | None = None, headers: dict[str, Any] | None = None,
                         **_: Any) -> None:
    """Write the job's row as queued before its message goes out (first publish only)."""
    headers = headers or {}
    if headers.get("retries"):
        return  # a retry of a job whose row exists already
    if headers.get(QUIET_HEADER):
        return  # a periodic scan: recorded by workers/quiet_task.py only if it found work
    job_id, kind = headers.get("id"), headers.get("task") or sender
    if not job_id or not kind:
        return
    args, kwargs = (body[0], body[1]) if isinstance(body, (list, tuple)) and len(body) >= 2 \
        else ([], {})
    from store.job_writes import QueuedJob, record_queued

    record_queued(None, QueuedJob(
        id=job_id, kind=kind, queue=routing_key or "default",
        args={"args": list(args), "kwargs": dict(kwargs)},
        correlation_id=headers.get(CORRELATION_HEADER),
    ))


def _setup_logging(**_: Any) -> None:
    """Celery would install its own handlers; ours write JSON (or human lines on a tty)."""
    from config.logs import configure_logging
    from config.settings import get_settings

    configure_logging(get_settings())


def _after_fork(**_: Any) -> None:
    """A forked pool child must not share its parent's database connections."""
    from store.engine import dispose_engines
    from store.job_writes import reset_drivers

    dispose_engines()
    reset_drivers()


def _guard_broker_loss(**_: Any) -> None:
    from workers.kombu_guard import guard_restore_on_lost_connection

    guard_restore_on_lost_connection()


def install_hooks(app: Celery) -> None:
    # dispatch_uid: several app instances in one process must not record a job twice.
    signals.before_task_publish.connect(record_published_job, weak=False,
                                        dispatch_uid="conveyor.record_published_job")
    signals.setup_logging.connect(_setup_logging, weak=False,
                                  dispatch_uid="conveyor.setup_logging")
    signals.worker_process_init.connect(_after_fork, weak=False,
                                        dispatch_uid="conveyor.after_fork")
    signals.worker_init.connect(_guard_broker_loss, weak=False,
                                dispatch_uid="conveyor.guard_broker_loss")
    from workers.lease import LeaseKeeper

    app.steps["consumer"].add(LeaseKeeper)
