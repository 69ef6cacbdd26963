"""Submit a job and wait for it: the path every contract CLI's long work takes.

Never a silent hang: before publishing, the broker's consumer registry must show
a worker on the job's queue (else a clear error within no_worker_grace_s); while
waiting, that is checked again every second; --timeout bounds the wait; Ctrl-C
leaves the job running and names it. In the embedded mode the worker is started
inside this process, so there is always one.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cli.contract import JobInterrupted, database_outage
from common.errors import ContractError, JobSystemError
from config.settings import get_settings
from store.job_schema import CORRELATION_HEADER

logger = logging.getLogger("conveyor.jobs")

CONSUMER_CHECK_EVERY_S = 1.0
BROKER_RETRY_S = 0.5
ROW_CHECK_EVERY_S = 5.0
STORE_POLL_S = 0.2


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    task: str
    queue: str
    embedded: bool
    result: Any = field(repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "task": self.task, "queue": self.queue,
                "status": "queued"}


def _app() -> Any:
    from config.celery_app import app

    return app


def _broker_client(connection: Any) -> Any:
    import redis

    return redis.Redis.from_url(connection.broker_url, socket_timeout=3,
                                socket_connect_timeout=3)


def _broker_unavailable(connection: Any, exc: BaseException) -> JobSystemError:
    from config.connection import redact_url

    hint = ""
    if connection.mode.value == "stack":
        hint = ("; the local stack's supervisor restarts its Redis (`conveyor status` shows "
                "it; `conveyor up` starts a stack whose supervisor is gone)")
    return JobSystemError("broker_unavailable", f"cannot reach the broker at "
                          f"{redact_url(connection.broker_url)}: {exc}{hint}")


def _no_worker(queue: str, job_id: str | None = None) -> JobSystemError:
    where = f"; job {job_id} stays queued" if job_id else ""
    return JobSystemError(
        "no_worker",
        f"no worker is consuming queue '{queue}'{where}: start the local stack with "
        f"`conveyor up` or a worker with `conveyor worker -Q {queue}`",
        {"queue": queue, **({"job_id": job_id} if job_id else {})})


class _WaitWatch:
    """Decides, while a CLI waits on a job, whether waiting still makes sense.

    It stops the wait at the deadline, once no worker has consumed the job's queue for
    the no-worker grace, or once the broker has been unreachable for its outage grace
    (a Redis restart is ridden out: the job and its result survive in Redis).
    """

    def __init__(self, job: SubmittedJob, settings: Any, timeout_s: float | None) -> None:
        self.job = job
        self.settings = settings
        self.timeout_s = timeout_s
        now = time.monotonic()
        self.deadline = None if timeout_s is None else now + timeout_s
        self._next_check = now + CONSUMER_CHECK_EVERY_S
        self._no_consumer_since: float | None = None
        self._broker_down_since: float | None = None
        self._row_check_at = now + ROW_CHECK_EVERY_S

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            job = self.job
            raise JobSystemError(
                "wait_timeout", f"job {job.job_id} did not finish within {self.timeout_s:g} s"
                + ("" if job.embedded else f"; it goes on: conveyor jobs wait {job.job_id}"),
                {"job_id": job.job_id})

    def consumer_check_due(self) -> bool:
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + CONSUMER_CHECK_EVERY_S
        return True

    def saw_consumers(self, present: bool) -> None:
        if present:
            self._no_consumer_since = None
            return
        now = time.monotonic()
        self._no_consumer_since = self._no_consumer_since or now
        if now - self._no_consumer_since >= self.settings.no_worker_grace_s:
            raise _no_worker(self.job.queue, self.job.job_id)

    def broker_lost(self, error: JobSystemError) -> None:
        now = time.monotonic()
        self._broker_down_since = self._broker_down_since or now
        if now - self._broker_down_since >= self.settings.broker_outage_grace_s:
            error.details["job_id"] = self.job.job_id
            raise error

    def broker_back(self) -> None:
        self._broker_down_since = None

    def row_check_due(self) -> bool:
        """Now and then, ask the jobs table too: a result published while this client
        was not listening is never delivered to it, but the row has it."""
        now = time.monotonic()
        if now < self._row_check_at:
            return False
        self._row_check_at = now + ROW_CHECK_EVERY_S
        return True


def read_job_row(job_id: str) -> tuple[bool, dict[str, Any] | None]:
    """(True, the job's row or None) or, while the database is locked or unreachable,
    (False, None): a waiting client rides out an outage as the job's worker does."""
    from store import jobs

    try:
        with database_reachable():
            return True, jobs.get_job(job_id)
    except JobSystemError:
        return False, None


@contextmanager
def database_reachable() -> Iterator[None]:
    """A locked or unreachable jobs database is the job system failing to serve
    (JobSystemError database_unavailable), not an unexpected error."""
    try:
        yield
    except Exception as exc:
        outage = database_outage(exc, what="jobs database")
        if outage is None:
            raise
        raise outage from exc


def _finished_in_store(job: SubmittedJob) -> tuple[bool, Any]:
    from store import jobs
    from store.job_schema import TERMINAL_STATUSES

    _, row = read_job_row(job.job_id)
    if row is None or row["status"] not in TERMINAL_STATUSES:
        return False, None
    return True, jobs.finished_result(row)


# The errors a job's failure is raised again as, by the names Celery records them under
# (exc_module, exc_type); their args are what their constructors take.
_OUR_ERRORS: dict[tuple[str, str], type[Exception]] = {
    ("common.errors", "ContractError"): ContractError,
    ("common.errors", "JobSystemError"): JobSystemError,
}


def _job_outcome(state: dict[str, Any], job_id: str) -> Any:
    """A final state document as the job's result, or its error raised again: what
    Celery's AsyncResult.get(propagate=True) gives, for the errors jobs raise."""
    status = state["status"]
    if status == "SUCCESS":
        return state.get("result")
    if status == "REVOKED":
        from store.jobs import job_canceled

        raise job_canceled(job_id)
    recorded = state.get("result")
    error: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    name = (str(error.get("exc_module")), str(error.get("exc_type")))
    args = error.get("exc_message")
    args = list(args) if isinstance(args, list | tuple) else [args]
    known = _OUR_ERRORS.get(name)
    if known is not None:
        try:
            rebuilt = known(*args)
        except TypeError:
            rebuilt = None
        if rebuilt is not None:
            raise rebuilt
    raise _unexpected_failure(job_id, name[1], Exception(*args))


def _unexpected_failure(job_id: str, type_name: str, error: BaseException) -> JobSystemError:
    """A job that failed with an error none of ours: named, and reported as job_failed."""
    return JobSystemError("job_failed", f"job {job_id} failed: {type_name}: {error}",
                          {"job_id": job_id})


class JobClient:
    """Publishes jobs and waits for their results.

    On a redis:// broker whose results are kept in the same Redis (the local stack,
    the usual configuration) without Celery in this process (cli/redis_jobs.py);
    otherwise (RabbitMQ, the embedded mode) through the Celery app.
    """

    def __init__(self, app: Any | None = None) -> None:
        from cli.redis_jobs import redis_line_for
        from config.connection import resolve_connection

        self._app = app
        self.settings = get_settings()
        self.connection = app.conveyor_connection if app is not None \
            else resolve_connection(self.settings)
        self._line = redis_line_for(self.connection.broker_url,
                                    self.connection.result_backend) \
            if self.connection.is_redis else None
        self._redis: Any = None
        self._amqp: Any = None
        self._results_from_store = False
        # When this client last saw a consumer on each queue (time.monotonic()).
        self._consumer_seen_at: dict[str, float] = {}

    @property
    def app(self) -> Any:
        """The Celery app (created on first use: publishing over Redis needs none)."""
        if self._app is None:
            self._app = _app()
        return self._app

    @property
    def embedded(self) -> bool:
        return bool(self.connection.is_embedded)

    def _consumers(self, queue: str) -> list[str]:
        """The workers consuming ``queue`` now, as the broker says; seeing one is noted."""
        found = self._amqp_consumers(queue) if self.connection.is_amqp \
            else self._redis_consumers(queue)
        if found:
            self._consumer_seen_at[queue] = time.monotonic()
        return found

    def _redis_consumers(self, queue: str) -> list[str]:
        from workers.consumers import live_consumers

        if self._line is not None:
            client: Any = self._line.wire
        else:
            if self._redis is None:
                self._redis = _broker_client(self.connection)
            client = self._redis
        try:
            return live_consumers(client, queue, lease_renew_s=self.settings.lease_renew_s)
        except Exception as exc:  # OSError, redis.ConnectionError and friends
            raise _broker_unavailable(self.connection, exc) from None

    def _amqp_consumers(self, queue: str) -> list[str]:
        from cli.amqp_consumers import AmqpConsumers

        if self._amqp is None:
            self._amqp = AmqpConsumers(self.app)
        try:
            count = self._amqp.count(queue)
        except Exception as exc:  # amqp/kombu connection errors
            raise _broker_unavailable(self.connection, exc) from None
        return [f"consumer {n + 1} of {count}" for n in range(count)]

    def has_consumer(self, queue: str, *, grace_s: float) -> bool:
        """Whether some worker consumes ``queue``, waiting up to grace_s for one to appear
        (and riding out an unreachable broker that long: a restarting stack Redis)."""
        if self.embedded or not (self.connection.is_redis or self.connection.is_amqp):
            return True
        deadline = time.monotonic() + grace_s
        while True:
            try:
                if self._consumers(queue):
                    return True
            except JobSystemError:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _consumer_seen_lately(self, queue: str) -> bool:
        """Whether this client saw a consumer on ``queue`` within the last check interval.

        A client submitting job after job does not ask the broker before each one: a
        worker that died since is noticed by wait()'s own check, as a worker dying just
        after the publish would be. A fresh client (every CLI) always asks."""
        seen_at = self._consumer_seen_at.get(queue)
        return seen_at is not None and time.monotonic() - seen_at < CONSUMER_CHECK_EVERY_S

    def submit(self, task: str, kwargs: dict[str, Any], *, queue: str | None = None,
               require_worker: bool = True, expires_s: float | None = None,
               correlation_id: str | None = None, will_wait: bool = True) -> SubmittedJob:
        """Publish a job. will_wait=False: this client will not wait for it (--no-wait),
        so it does not listen for its result either."""
        from config.queues import queue_for

        queue = queue or queue_for(task)
        if self.embedded:
            from cli.state_errors import ensure_state_folder_writable
            from workers.embedded import ensure_embedded_worker

            # The job runs in this process and writes this state folder: an unusable
            # one is this command's error, said now, not a failed (read-only) or a
            # never-finishing (full disk: its rows unwritable) job.
            ensure_state_folder_writable()
            ensure_embedded_worker(self.app)
        elif require_worker and not self._consumer_seen_lately(queue) and not self.has_consumer(
                queue, grace_s=self.settings.no_worker_grace_s):
            raise _no_worker(queue)
        job_id = str(uuid.uuid4())
        if self.embedded:
            from workers.embedded import track_submitted

            track_submitted(job_id)
        headers = {CORRELATION_HEADER: correlation_id or job_id}
        if self._line is not None:
            self._publish_over_redis(task, job_id, kwargs, queue, expires_s, headers,
                                     listen=will_wait)
            return SubmittedJob(job_id, task, queue, False, self._line)
        try:
            result = self.app.send_task(task, kwargs=kwargs, queue=queue, task_id=job_id,
                                        expires=expires_s, headers=headers)
        except Exception as exc:  # kombu.exceptions.OperationalError: broker down
            raise _broker_unavailable(self.connection, exc) from None
        return SubmittedJob(job_id, task, queue, self.embedded, result)

    def _publish_over_redis(self, task: str, job_id: str, kwargs: dict[str, Any], queue: str,
                            expires_s: float | None, headers: dict[str, str], *,
                            listen: bool) -> None:
        """The queued row first (as the Celery app's publish hook writes it), then the
        message: a job is never on a queue without its row."""
        from store.job_writes import QueuedJob, record_queued

        assert self._line is not None
        record_queued(None, QueuedJob(id=job_id, kind=task, queue=queue,
                                      args={"args": [], "kwargs": dict(kwargs)},
                                      correlation_id=headers[CORRELATION_HEADER]))
        from cli.redis_wire import RedisReplyError

        try:
            self._line.publish(task, task_id=job_id, kwargs=kwargs, queue=queue,
                               expires_s=expires_s, headers=headers, listen=listen)
        except (OSError, RedisReplyError) as exc:  # unreachable, or refusing (auth, OOM)
            raise _broker_unavailable(self.connection, exc) from None

    def wait(self, job: SubmittedJob, *, timeout_s: float | None = None,
             on_tick: Callable[[SubmittedJob], None] | None = None) -> Any:
        """The job's result; its ContractError if it failed; JobSystemError if it cannot end."""
        watch = _WaitWatch(job, self.settings, timeout_s)
        try:
            while True:
                try:
                    done, value = self._next_outcome(job, watch)
                    if done:
                        return value
                    if not job.embedded and watch.consumer_check_due():
                        watch.saw_consumers(bool(self._consumers(job.queue)))
                    watch.broker_back()
                except JobSystemError as exc:
                    if exc.reason != "broker_unavailable":
                        raise
                    # Celery's result listener may not recover from a broker restart;
                    # the jobs table has every outcome, so read results from it now.
                    self._results_from_store = True
                    watch.broker_lost(exc)  # raises once the outage outlasts its grace
                    time.sleep(BROKER_RETRY_S)
                watch.check_deadline()
                if on_tick is not None:
                    on_tick(job)
        except KeyboardInterrupt:
            raise JobInterrupted(job.job_id, job.embedded) from None
        finally:
            if job.embedded:
                from workers.embedded import forget_submitted

                forget_submitted(job.job_id)

    def _next_outcome(self, job: SubmittedJob, watch: _WaitWatch) -> tuple[bool, Any]:
        if self._results_from_store:
            time.sleep(STORE_POLL_S)
            return _finished_in_store(job)
        done, value = self._poll(job, watch.deadline)
        if not done and watch.row_check_due():
            return _finished_in_store(job)
        return done, value

    def _poll(self, job: SubmittedJob, deadline: float | None) -> tuple[bool, Any]:
        slice_s = 0.25
        if deadline is not None:
            slice_s = max(0.001, min(slice_s, deadline - time.monotonic()))
        if job.result is self._line and self._line is not None:
            return self._poll_redis(job, slice_s)
        return self._poll_celery(job, slice_s)

    def _poll_redis(self, job: SubmittedJob, slice_s: float) -> tuple[bool, Any]:
        assert self._line is not None
        if not self._line.listens_for(job.job_id) and self._line.wire.connected:
            time.sleep(min(slice_s, STORE_POLL_S))  # published with will_wait=False
            return _finished_in_store(job)
        try:
            state = self._line.wait_result(job.job_id, slice_s)
        except OSError as exc:
            raise _broker_unavailable(self.connection, exc) from None
        if state is None:
            return False, None
        return True, _job_outcome(state, job.job_id)

    def _poll_celery(self, job: SubmittedJob, slice_s: float) -> tuple[bool, Any]:
        from celery.exceptions import TaskRevokedError
        from celery.exceptions import TimeoutError as CeleryTimeout

        try:
            value = job.result.get(timeout=slice_s, interval=0.005 if job.embedded else 0.05,
                                   propagate=True, disable_sync_subtasks=False)
        except CeleryTimeout:
            return False, None
        except TaskRevokedError:
            from store.jobs import job_canceled

            raise job_canceled(job.job_id) from None
        except (ContractError, JobSystemError):
            raise
        except (ConnectionError, OSError) as exc:
            raise _broker_unavailable(self.connection, exc) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("redis", "kombu", "amqp")):
                raise _broker_unavailable(self.connection, exc) from None
            raise _unexpected_failure(job.job_id, type(exc).__name__, exc) from None
        return True, value


class ProgressLine:
    """Shows a job's progress on stderr, on a terminal only, at most a few times a second."""

    def __init__(self) -> None:
        self._last_shown = ""
        self._next_read = 0.0

    def __call__(self, job: SubmittedJob) -> None:
        now = time.monotonic()
        if now < self._next_read:
            return
        self._next_read = now + 0.5
        _, row = read_job_row(job.job_id)
        if row is not None:
            self.show(row)

    def show(self, row: dict[str, Any]) -> None:
        """Show this row's status and progress, if they changed since last shown."""
        from cli.output import printable

        text = printable(f"[{row['id'][:8]}] {row['status']}")
        if row.get("progress"):
            text += f": {printable(row['progress'])}"
        if text != self._last_shown:
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()
            self._last_shown = text

    def close(self) -> None:
        if self._last_shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def run_job(task: str, kwargs: dict[str, Any], *, wait: bool = True,
            timeout_s: float | None = None, queue: str | None = None,
            correlation_id: str | None = None) -> tuple[SubmittedJob, Any]:
    """Submit, then wait unless told not to; returns the job and its result (or None)."""
    from cli.output import stderr_is_terminal

    client = JobClient()
    if not wait and client.embedded:
        raise JobSystemError(
            "no_wait_embedded", "--no-wait needs a broker or the local stack (`conveyor up`): "
            "in the embedded mode the job runs inside this process and would stop with it")
    job = client.submit(task, kwargs, queue=queue, require_worker=wait, will_wait=wait,
                        correlation_id=correlation_id)
    if not wait:
        if not client.has_consumer(job.queue, grace_s=0):
            sys.stderr.write(f"warning: no worker consumes queue '{job.queue}' yet; "
                             f"job {job.job_id} waits for one\n")
        return job, None
    progress = ProgressLine() if stderr_is_terminal() else None
    try:
        return job, client.wait(job, timeout_s=timeout_s, on_tick=progress)
    finally:
        if progress is not None:
            progress.close()
