"""No-op tasks for the queue benchmark: one bare Celery task, one on the persisted base task."""

from __future__ import annotations

from celery import shared_task

from workers.base_task import PersistedTask


@shared_task(name="bench.tasks.bare_noop")
def bare_noop() -> None:
    """Plain Celery: no job row."""


@shared_task(name="bench.tasks.persisted_noop", base=PersistedTask, bind=True)
def persisted_noop(self: PersistedTask) -> None:
    """The same nothing, recorded in the jobs table like every Conveyor job."""
