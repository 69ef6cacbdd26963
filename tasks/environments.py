"""Execution environments (queue `environments`): create and destroy, idempotent per session."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from common.backoff import BackoffPolicy
from common.errors import TransientError
from config.exam import get_exam_settings
from store import jobs
from workers.base_task import PersistedTask

# One first try and three retries of a failed Kubernetes API call.
MAX_ATTEMPTS = 4


class EnvironmentTask(PersistedTask):
    """Retries Kubernetes API failures with the configured exponential backoff."""

    abstract = True
    max_attempts = MAX_ATTEMPTS

    @property
    def backoff(self) -> BackoffPolicy:  # type: ignore[override]
        settings = get_exam_settings()
        return BackoffPolicy(base_s=settings.api_retry_base_s, cap_s=settings.api_retry_cap_s,
                             jitter=0.1)

    def is_last_attempt(self) -> bool:
        """Whether a transient failure now ends the job (the row counts every delivery)."""
        if self.request.called_directly or self.request.id is None:
            return True
        row = jobs.get_job(self.request.id)
        attempts = int(row["attempts"]) if row else self.request.retries + 1
        return attempts >= MAX_ATTEMPTS


@shared_task(name="tasks.environments.create", base=EnvironmentTask, bind=True)
def create(self: EnvironmentTask, session_id: str, timeout_s: float) -> dict[str, Any]:
    """Create (or adopt) the session's environment and wait until it is ready."""
    from domain.exam.environments import create_environment, fail_after_retries

    try:
        return create_environment(session_id, float(timeout_s))
    except TransientError as exc:
        if self.is_last_attempt():
            # Retries ran out: the session must not stay `initializing` for ever.
            error = exc.final_error()
            fail_after_retries(session_id, error)
            raise error from exc
        raise


@shared_task(name="tasks.environments.destroy", base=EnvironmentTask, bind=True)
def destroy(self: EnvironmentTask, session_id: str) -> dict[str, Any]:
    """Release the session's environment (already released: the same answer)."""
    from domain.exam.environments import destroy_environment

    return destroy_environment(session_id)
