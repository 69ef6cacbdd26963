"""Periodic jobs that leave a row only when they found work (the oord agent's scans).

A scan every 5 s that finds nothing would otherwise write a job row each time (two
scans: 35,000 rows a day) and bury every other job. Beat publishes these with
store.job_schema.QUIET_HEADER: the publish hook writes no queued row, and the run
records its row afterwards, as succeeded, only if ``did_work(result)`` says it did
something; a run that fails is recorded as failed, always. Published without the
header (``oord agent scan`` waits on its job), it is an ordinary persisted job.
"""

from __future__ import annotations

import logging
from typing import Any

from store import job_writes
from store.job_schema import QUIET_HEADER
from workers.base_task import PersistedTask
from workers.transient import with_db_retry

logger = logging.getLogger("conveyor.jobs")


class QuietPeriodicTask(PersistedTask):
    abstract = True
    max_attempts = 1

    @staticmethod
    def did_work(result: Any) -> bool:
        """Work found: any non-empty list in the result (found, dispatched, cleaned...)."""
        return isinstance(result, dict) and any(
            isinstance(value, list) and value for value in result.values())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly or request.id is None or not getattr(
                request, QUIET_HEADER, None):
            return super().__call__(*args, **kwargs)
        try:
            result = self.run(*args, **kwargs)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._record(args, kwargs)
            with_db_retry(lambda: job_writes.mark_failed(request.id, error=error,
                                                         exit_code=None))
            raise
        if self.did_work(result):
            self._record(args, kwargs)
            with_db_retry(lambda: job_writes.mark_succeeded(request.id, result=result))
        return result

    def _record(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        request = self.request
        with_db_retry(lambda: job_writes.start_attempt(
            request.id, kind=self.name, queue=self._queue_name(),
            args={"args": list(args), "kwargs": kwargs}, correlation_id=None,
            max_attempts=self.max_attempts, worker=request.hostname))
