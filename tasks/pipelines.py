"""Chirality pipeline runs (queue `pipelines`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import shared_task

from common.errors import ContractError
from workers.base_task import PersistedTask

logger = logging.getLogger("conveyor.chirality")


class ProgressReporter:
    """Writes the latest progress text to the job row from a thread of its own.

    The computation runs on an event loop; a progress write that waits out a locked
    database must not stall every resolver call in flight.
    """

    def __init__(self, task: PersistedTask) -> None:
        self._task = task
        # Celery's request context is per thread: carry the job's over to the writer.
        request = task.request
        self._request = {"id": request.id, "called_directly": request.called_directly}
        self._latest: str | None = None
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="chirality-progress")

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(timeout=5)

    def update(self, text: str) -> None:
        with self._changed:
            self._latest = text
            self._changed.notify()

    def _run(self) -> None:
        self._task.push_request(**self._request)
        try:
            self._write_until_closed()
        finally:
            self._task.pop_request()

    def _write_until_closed(self) -> None:
        while True:
            with self._changed:
                while self._latest is None and not self._closed:
                    self._changed.wait()
                text, self._latest = self._latest, None
                closed = self._closed
            if text is not None:
                try:
                    self._task.report_progress(text)
                except Exception:  # progress is a courtesy; the run goes on without it
                    logger.warning("could not record progress", exc_info=True)
            if closed:
                return


# throws: a contract answer (timeout, resolver failure, bad request) is the job's result,
# not a worker error; Celery logs it at INFO instead of ERROR with a traceback.
@shared_task(name="tasks.pipelines.compute_pipeline", base=PersistedTask, bind=True,
             max_attempts=3, throws=(ContractError,))
def compute_pipeline(self: PersistedTask, **kwargs: Any) -> dict[str, Any]:
    """Compute runs/<run_id> (or find it computed); the CLI prints run_id and manifest."""
    from config.chirality import load_chirality_settings
    from config.env import ConfigError
    from domain.chirality.errors import invalid_arguments
    from domain.chirality.pipeline import PipelineRequest, run_pipeline

    request = PipelineRequest.from_job(kwargs)
    try:
        settings = load_chirality_settings()
    except ConfigError as exc:  # the worker's own environment: a permanent answer, not a bug
        raise invalid_arguments(f"the worker's settings: {exc}") from None
    with ProgressReporter(self) as progress:
        outcome = run_pipeline(request, settings=settings, on_progress=progress.update)
    return outcome.as_result()
