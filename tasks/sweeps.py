"""Periodic sweeps (queue `sweeps`), run by Celery beat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task

from config.settings import get_settings
from store import jobs
from workers.base_task import PersistedTask
from workers.reconcile import reconcile


@shared_task(name="tasks.sweeps.prune_jobs", base=PersistedTask, bind=True, max_attempts=3)
def prune_jobs(self: PersistedTask, older_than_days: int | None = None) -> dict[str, Any]:
    """Delete finished job rows older than the retention period."""
    days = older_than_days if older_than_days is not None else get_settings().job_retention_days
    deleted = jobs.prune_finished(older_than=timedelta(days=max(int(days), 0)))
    return {"deleted": deleted, "older_than_days": days}


@shared_task(name="tasks.sweeps.exam_cleanup_ttl", base=PersistedTask, bind=True,
             max_attempts=3)
def exam_cleanup_ttl(self: PersistedTask) -> dict[str, Any]:
    """End expired and abandoned exam sessions; destroy their environments through the queue."""
    from tasks.exam_sweep import run_exam_sweep

    return run_exam_sweep(self)


@shared_task(name="tasks.sweeps.reconcile_jobs", base=PersistedTask, bind=True, max_attempts=3)
def reconcile_jobs(self: PersistedTask, older_than_s: float | None = None) -> dict[str, Any]:
    """Republish unfinished jobs whose message the broker lost (workers/reconcile.py)."""
    idle_s = older_than_s if older_than_s is not None else get_settings().reconcile_after_s
    return reconcile(self.app, older_than_s=max(float(idle_s), 0.0))
