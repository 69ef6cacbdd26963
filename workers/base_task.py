"""The base task: every job is a row in `jobs`, and every retry is decided here.

Lifecycle of a row: queued (at publish, by workers/hooks.py) -> running (attempts
counted before the body runs) -> retrying (transient error, next_retry_at and
last_error) -> running ... -> succeeded or failed (result or error, last_exit_code).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Retry

from common.backoff import DEFAULT_POLICY, BackoffPolicy
from common.clock import utc_now
from common.errors import ContractError, JobSystemError, TransientError
from config.logs import log_event
from store import job_writes, jobs
from store.job_schema import CORRELATION_HEADER
from workers.transient import is_database_outage, is_transient, with_db_retry

logger = logging.getLogger("conveyor.jobs")

# A job whose bookkeeping cannot reach the database is retried through Celery this
# many times (minutes, with backoff) before it is given up.
BOOKKEEPING_MAX_RETRIES = 20

FIRST_OUTCOME = "conveyor_first_outcome"
"""Set on a request whose success its row took: workers/result_backend.py reads it."""


class PersistedTask(Task):  # type: ignore[misc]
    """A Celery task whose every delivery, retry and outcome is persisted in `jobs`."""

    abstract = True
    #: Deliveries allowed, redeliveries after a worker crash included; None = no limit.
    max_attempts: int | None = 3
    backoff: BackoffPolicy = DEFAULT_POLICY
    #: Exception types, beyond the standard ones, that mean "try again later".
    transient_exceptions: tuple[type[BaseException], ...] = ()
    #: Celery's own retry counter is not our limit: attempts in the row are.
    max_retries = None
    #: Expected outcomes, not bugs: Celery logs them at INFO without a traceback.
    throws = (ContractError, JobSystemError)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly or request.id is None:
            return self.run(*args, **kwargs)
        start = self._bookkeeping(lambda: job_writes.start_attempt(
            request.id, kind=self.name, queue=self._queue_name(),
            args={"args": list(args), "kwargs": kwargs},
            correlation_id=getattr(request, CORRELATION_HEADER, None),
            max_attempts=self.max_attempts, worker=request.hostname,
        ))
        if start.finished:
            return self._replay_finished(request.id)
        if self.max_attempts is not None and start.attempts > self.max_attempts:
            return self._give_up_redelivered(start.attempts)
        request.conveyor_attempts = start.attempts  # which attempt this is, for the body
        return self._run_attempt(start.attempts, args, kwargs)

    def _bookkeeping(self, write: Callable[[], Any]) -> Any:
        """A write to the job's row; if the database stays away, retry the whole job later.

        The body is idempotent (at-least-once delivery), so running it again after an
        outage is safe, while finishing without a row would leave the job half-written.
        """
        try:
            return with_db_retry(write)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            retries = self.request.retries
            if retries >= BOOKKEEPING_MAX_RETRIES:
                logger.error("job given up: the database stayed unavailable", exc_info=exc,
                             extra={"event": "job_bookkeeping_failed", "job_id": self.request.id})
                raise JobSystemError("database_unavailable", "the job could not be recorded: "
                                     "the database is unavailable") from None
            delay_s = self.backoff.delay_s(retries + 1)
            log_event(logger, "job_bookkeeping_retry", level=logging.WARNING,
                      job_id=self.request.id, kind=self.name, retries=retries,
                      next_retry_in_ms=int(delay_s * 1000), error=str(exc))
            raise self.retry(exc=exc, countdown=delay_s) from None

    def _queue_name(self) -> str:
        info = self.request.delivery_info or {}
        return str(info.get("routing_key") or self.queue or "default")

    def _run_attempt(self, attempts: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        job_id = self.request.id
        try:
            result = self.run(*args, **kwargs)
        except Retry:
            raise  # the task scheduled its own retry through self.retry()
        except ContractError as err:
            self._fail(job_id, err, attempts)
            raise
        except Exception as exc:
            if isinstance(exc, JobSystemError) and exc.reason == "job_canceled":
                raise  # report_progress found the row canceled: stop, the row says why
            if is_transient(exc, self.transient_exceptions):
                self._retry_or_give_up(exc, attempts)
            self._crash(job_id, exc, attempts)
        if self._bookkeeping(lambda: job_writes.mark_succeeded(job_id, result=result)):
            # This delivery's success is the row's: its result needs no read-before-write
            # guard in the result backend (workers/result_backend.py).
            setattr(self.request, FIRST_OUTCOME, True)
        else:
            self._raise_if_canceled(job_id)
        return result

    @staticmethod
    def _raise_if_canceled(job_id: str) -> None:
        """A job canceled while it ran (a thread cannot be stopped): its outcome is
        discarded and the waiting client is told it was canceled, as the row says."""
        row = jobs.get_job(job_id)
        if row is not None and row["status"] == "canceled":
            log_event(logger, "job_outcome_discarded", job_id=job_id, reason="canceled")
            raise jobs.job_canceled(job_id)

    def _retry_or_give_up(self, exc: Exception, attempts: int) -> NoReturn:
        job_id = self.request.id
        if self.max_attempts is not None and attempts >= self.max_attempts:
            final = exc.final_error() if isinstance(exc, TransientError) else ContractError(
                "RETRIES_EXHAUSTED", f"gave up after {attempts} attempts: {exc}", exit_code=1)
            log_event(logger, "job_retries_exhausted", level=logging.WARNING, job_id=job_id,
                      kind=self.name, attempts=attempts, error=str(exc))
            self._fail(job_id, final, attempts, log=False)
            raise final from exc
        # A task that computed its own delay (and persisted it elsewhere) says so.
        delay_s = getattr(exc, "retry_in_s", None)
        if delay_s is None:
            delay_s = self.backoff.delay_s(attempts)
        exit_code = exc.exhausted.exit_code \
            if isinstance(exc, TransientError) and exc.exhausted is not None else None
        next_retry_at = utc_now() + timedelta(seconds=delay_s)
        try:
            with_db_retry(lambda: job_writes.mark_retrying(
                job_id, next_retry_at=next_retry_at, error=str(exc), exit_code=exit_code))
        except Exception as write_error:
            if not is_database_outage(write_error):
                raise
            # The retry is scheduled all the same; its next attempt will update the row.
            logger.warning("could not record the retry", exc_info=write_error)
        log_event(logger, "job_retry_scheduled", job_id=job_id, kind=self.name,
                  attempts=attempts, next_retry_in_ms=int(delay_s * 1000), error=str(exc))
        raise self.retry(exc=exc, countdown=delay_s)

    def _fail(self, job_id: str, err: ContractError, attempts: int, *, log: bool = True) -> None:
        self._bookkeeping(lambda: job_writes.mark_failed(
            job_id, error=err.message, exit_code=err.exit_code, result=err.to_dict()))
        if log:
            log_event(logger, "job_failed", job_id=job_id, kind=self.name, attempts=attempts,
                      code=err.code, exit_code=err.exit_code)

    def _crash(self, job_id: str, exc: Exception, attempts: int) -> NoReturn:
        logger.error("job crashed", exc_info=exc,
                     extra={"event": "job_crashed", "job_id": job_id, "kind": self.name,
                            "attempts": attempts})
        self._bookkeeping(lambda: job_writes.mark_failed(
            job_id, error=f"{type(exc).__name__}: {exc}", exit_code=None))
        raise JobSystemError("job_crashed", "the job failed unexpectedly; "
                             "the worker log has the details", {"job_id": job_id}) from None

    def _replay_finished(self, job_id: str) -> Any:
        """A redelivered message of a job that already finished: answer, do not redo."""
        row = jobs.get_job(job_id)
        assert row is not None, "a finished job has a row"
        log_event(logger, "job_redelivered_after_finish", job_id=row["id"], status=row["status"])
        return jobs.finished_result(row)

    def _give_up_redelivered(self, attempts: int) -> NoReturn:
        """A message delivered more often than allowed: it keeps killing its workers."""
        err = ContractError("RETRIES_EXHAUSTED",
                            f"delivered {attempts} times without finishing; giving up",
                            exit_code=1)
        log_event(logger, "job_retries_exhausted", level=logging.WARNING,
                  job_id=self.request.id, kind=self.name, attempts=attempts)
        self._fail(self.request.id, err, attempts, log=False)
        raise err

    def report_progress(self, progress: str) -> None:
        """Show what the job is doing now in its row (and so in the waiting CLI)."""
        job_id = self.request.id
        if job_id is not None and not self.request.called_directly:
            try:
                open_row = with_db_retry(lambda: job_writes.set_progress(job_id, progress))
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                logger.warning("could not record progress", exc_info=exc)  # cosmetic only
                return
            if not open_row:
                self._raise_if_canceled(job_id)  # a cooperative stop at the next progress
