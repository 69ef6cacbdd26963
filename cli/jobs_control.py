"""`conveyor jobs list|retry|cancel`: find jobs, publish one again, stop one.

A retry is a new row linked to the old one (``retry_of``), never a new attempt in
the old row. The job id is the Celery task id, and three things remember an id after
its job ended: Celery's result backend (a waiter on the id would read the old
outcome), every worker's revoked set (a canceled id would be dropped for hours), and
the broker (a late redelivery of the old message must not run as the new attempt).
A new id owes nothing to any of them; the old row keeps its error as it was, and the
new one starts with a fresh attempt budget.
"""

from __future__ import annotations

import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from cli.job_options import timeout_option
from cli.output import emit_json
from common.errors import ContractError, JobSystemError
from store.job_schema import TERMINAL_STATUSES, JobStatus

JOB_STATUSES = tuple(s.value for s in JobStatus)
EXIT_NOT_FOUND = 4  # as cli/conveyor.py
EXIT_CONFLICT = 5
CANCEL_REASON = "canceled by an operator (conveyor jobs cancel)"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class Since(click.ParamType[datetime]):
    """A moment: an age back from now (90s, 15m, 2h, 7d, 1w) or an ISO-8601 time (UTC
    unless it says otherwise)."""

    name = "AGE|TIME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        match = _DURATION.fullmatch(text)
        try:
            if match:
                age = timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
                return datetime.now(UTC) - age
            moment = datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        self.fail(f"{value!r} is neither an age (90s, 15m, 2h, 7d, 1w) nor an ISO-8601 time "
                  f"(2026-12-04T09:30:00Z)", param, ctx)


def _queues() -> tuple[str, ...]:
    from config.queues import QUEUES

    return QUEUES


@click.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES))
@click.option("--kind", metavar="TASK", help="Only jobs of this task name.")
@click.option("--queue", type=click.Choice(_queues()), help="Only jobs of this queue.")
@click.option("--since", type=Since(), help="Only jobs created since: 15m, 2h, 7d or a time.")
@click.option("--error", "error_text", metavar="TEXT",
              help="Only jobs whose last error (or a failed job's error code) contains TEXT.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_command(status: str | None, kind: str | None, queue: str | None,
                 since: datetime | None, error_text: str | None, limit: int,
                 as_json: bool) -> None:
    """List the most recent jobs matching every filter given, newest first."""
    from cli.jobs_client import database_reachable
    from store.job_queries import JobFilter, find_jobs

    spec = JobFilter(status=status, kind=kind, queue=queue, since=since, error=error_text,
                     limit=limit)
    with database_reachable():
        rows = find_jobs(spec)
    if as_json:
        emit_json(rows, pretty=True)
        return
    from cli.tables import jobs_table

    click.echo(jobs_table(rows))


def _row_or_not_found(job_id: str) -> dict[str, Any]:
    from cli.jobs_client import database_reachable
    from store.job_reads import get_job

    with database_reachable():
        row = get_job(job_id)
    if row is None:
        raise ContractError("JOB_NOT_FOUND", f"no job with id {job_id}", {"job_id": job_id},
                            EXIT_NOT_FOUND)
    return row


def _conflict(row: dict[str, Any], message: str) -> ContractError:
    return ContractError("JOB_STATE_CONFLICT", message,
                         {"job_id": row["id"], "status": row["status"]}, EXIT_CONFLICT)


def _broker_client() -> Any:
    """A JobClient on a real broker: a retried or canceled job concerns workers elsewhere."""
    from cli.jobs_client import JobClient

    client = JobClient()
    if client.embedded:
        raise JobSystemError("no_broker", "no broker: start the local stack with `conveyor up` "
                             "or set CONVEYOR_BROKER_URL (embedded jobs end with their CLI)")
    return client


def _revoke(client: Any, job_id: str) -> bool:
    """Tell every worker to drop the job's message (prefetched, or waiting on a retry
    countdown). The canceled row is what guarantees it is not run; this only saves a
    delivery. A thread cannot be stopped: a running attempt ends at its next progress
    report, or runs out and has its outcome discarded."""
    try:
        client.app.control.revoke(job_id)
    except Exception:  # the broker is away: the row still stops every later delivery
        return False
    return True


def cancel_row(client: Any, row: dict[str, Any], reason: str) -> dict[str, Any]:
    """Cancel the job of an unfinished row; a conflict if it has finished meanwhile."""
    from cli.jobs_client import database_reachable
    from store.job_writes import mark_canceled

    with database_reachable():
        canceled = mark_canceled(row["id"], reason=reason)
    if not canceled:
        fresh = _row_or_not_found(row["id"])
        if fresh["status"] != JobStatus.CANCELED:
            raise _conflict(fresh, f"job {row['id']} has {fresh['status']} meanwhile")
        return {"job_id": row["id"], "status": "canceled", "was": "canceled", "revoked": False}
    return {"job_id": row["id"], "status": "canceled", "was": row["status"],
            "revoked": _revoke(client, row["id"])}


@click.command("cancel")
@click.argument("job_id")
def cancel_command(job_id: str) -> None:
    """Cancel an unfinished job: its row says canceled, workers drop its message, a CLI
    waiting on it is told so. Canceling a canceled job again changes nothing."""
    row = _row_or_not_found(job_id)
    if row["status"] == JobStatus.CANCELED:
        emit_json({"job_id": job_id, "status": "canceled", "was": "canceled",
                   "revoked": False}, pretty=True)
        return
    if row["status"] in TERMINAL_STATUSES:
        raise _conflict(row, f"job {job_id} has {row['status']} already; nothing to cancel")
    emit_json(cancel_row(_broker_client(), row, CANCEL_REASON), pretty=True)


def _idle_s(row: dict[str, Any]) -> float:
    updated = datetime.fromisoformat(row["updated_at"])
    return max(0.0, (datetime.now(UTC) - updated).total_seconds())


def _check_retryable(row: dict[str, Any], force: bool) -> None:
    from config.settings import get_settings

    if row["status"] == JobStatus.SUCCEEDED:
        raise _conflict(row, f"job {row['id']} succeeded; only a failed, canceled or stuck "
                        "job is retried")
    if row["status"] in TERMINAL_STATUSES or force:
        return
    stuck_after_s = get_settings().reconcile_after_s
    idle_s = _idle_s(row)
    if idle_s < stuck_after_s:
        raise _conflict(row, f"job {row['id']} is {row['status']}, its row changed "
                        f"{idle_s:.0f} s ago: not stuck before {stuck_after_s:g} s "
                        "(CONVEYOR_RECONCILE_AFTER_S); --force retries it now")


def _publish_again(client: Any, row: dict[str, Any]) -> str:
    from cli.jobs_client import database_reachable
    from store.job_schema import CORRELATION_HEADER
    from store.job_writes import QueuedJob, record_queued

    new_id = str(uuid.uuid4())
    args = row.get("args") or {}
    # The row first, with its link: the publish hook then finds it and leaves it be.
    with database_reachable():
        record_queued(None, QueuedJob(
            id=new_id, kind=row["kind"], queue=row["queue"], args=args,
            correlation_id=row.get("correlation_id"), max_attempts=row.get("max_attempts"),
            retry_of=row["id"]))
    try:
        client.app.send_task(row["kind"], args=args.get("args") or [],
                             kwargs=args.get("kwargs") or {}, queue=row["queue"],
                             task_id=new_id,
                             headers={CORRELATION_HEADER: row.get("correlation_id") or new_id})
    except Exception as exc:  # kombu.exceptions.OperationalError: broker down
        from cli.jobs_client import _broker_unavailable

        raise _broker_unavailable(client.connection, exc) from None
    return new_id


@click.command("retry")
@click.argument("job_id")
@click.option("--force", is_flag=True,
              help="Retry an unfinished job that does not look stuck yet (it is canceled).")
@click.option("--wait/--no-wait", "wait", default=False, show_default=True,
              help="Wait for the new job to end and print its row.")
@timeout_option(None, "With --wait: seconds to wait at most.")
def retry_command(job_id: str, force: bool, wait: bool, timeout_s: float | None) -> int:
    """Publish a failed, canceled or stuck job again with its arguments, as a new job
    whose row names the old one (retry_of). A stuck job (unfinished, its row unchanged
    for CONVEYOR_RECONCILE_AFTER_S) is canceled first, so it cannot also run."""
    row = _row_or_not_found(job_id)
    _check_retryable(row, force)
    client = _broker_client()
    if row["status"] not in TERMINAL_STATUSES:
        cancel_row(client, row, "canceled: superseded by `conveyor jobs retry`")
    new_id = _publish_again(client, row)
    if not client.has_consumer(row["queue"], grace_s=0):
        sys.stderr.write(f"warning: no worker consumes queue '{row['queue']}' yet; "
                         f"job {new_id} waits for one\n")
    if wait:
        from cli.job_watch import wait_for_row

        done = wait_for_row(_row_or_not_found(new_id), timeout_s=timeout_s)
        emit_json(done, pretty=True)
        return 0 if done["status"] == JobStatus.SUCCEEDED else 1
    emit_json({"job_id": new_id, "retry_of": job_id, "task": row["kind"],
               "queue": row["queue"], "status": "queued", "was": row["status"]}, pretty=True)
    return 0


COMMANDS = (list_command, retry_command, cancel_command)
