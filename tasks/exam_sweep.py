"""The exam TTL sweep's body (its task is tasks.sweeps.exam_cleanup_ttl, queue `sweeps`)."""

from __future__ import annotations

from typing import Any

from config.queues import ENVIRONMENTS
from store.job_schema import CORRELATION_HEADER
from workers.base_task import PersistedTask

DESTROY_TASK = "tasks.environments.destroy"


def run_exam_sweep(task: PersistedTask) -> dict[str, Any]:
    from domain.exam.sweep import sweep

    result = sweep()
    # The destroy jobs carry the sweep's job id as their correlation id, so whoever
    # waits for the sweep (the CLI) can wait for them too.
    correlation = task.request.id
    for session_id in result.environments_to_destroy:
        task.app.send_task(DESTROY_TASK, kwargs={"session_id": session_id}, queue=ENVIRONMENTS,
                           headers={CORRELATION_HEADER: correlation} if correlation else None)
    return result.as_json()
