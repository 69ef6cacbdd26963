"""`conveyor`: the operations CLI (local stack, health check, jobs, database, worker)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from cli.contract import StandardErrorFormat, run_cli
from cli.job_options import Seconds, timeout_option
from cli.jobs_control import COMMANDS as JOB_CONTROL_COMMANDS
from cli.jobs_control import JOB_STATUSES as JOB_STATUSES
from cli.metrics import metrics_group
from cli.output import emit_json
from common.errors import ContractError

VERSION = "0.1.0"

# Exit codes of `conveyor` (documented in docs/conveyor.md).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4

ERRORS = StandardErrorFormat(usage_code="INVALID_ARGUMENTS", usage_exit=EXIT_USAGE,
                             system_code="JOB_SYSTEM_UNAVAILABLE", system_exit=EXIT_UNAVAILABLE,
                             internal_code="INTERNAL_ERROR", internal_exit=EXIT_FAILED)

# A century: longer than any retention, and a cutoff date that datetime can still hold.
MAX_PRUNE_DAYS = 36_500


def _settings() -> Any:
    from config.settings import get_settings

    return get_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="conveyor")
def conveyor() -> None:
    """Operate Conveyor: the local stack, health checks, jobs and the database."""


# ---- local stack -----------------------------------------------------------------------

@conveyor.command("up")
def up_command() -> None:
    """Start the local stack: Redis, workers for every queue, beat, and Flower if installed."""
    from workers.stack import Stack

    emit_json(Stack(_settings()).up(), pretty=True)


@conveyor.command("down")
def down_command() -> None:
    """Stop exactly the processes `conveyor up` started."""
    from workers.stack import Stack

    emit_json({"stopped": Stack(_settings()).down()}, pretty=True)


@conveyor.command("status")
def status_command() -> None:
    """Show the local stack's processes and the mode CLIs would use now."""
    from config.connection import redact_url, resolve_connection
    from workers.stack import Stack

    settings = _settings()
    status = Stack(settings).status()
    connection = resolve_connection(settings)
    status["mode"] = connection.mode.value
    status["broker_url"] = redact_url(connection.broker_url)
    emit_json(status, pretty=True)


# ---- check -----------------------------------------------------------------------------

@conveyor.command("check")
@click.option("--queue", "queues", multiple=True, metavar="NAME",
              help="Check only this queue (repeatable). Default: every queue.")
@timeout_option(10.0, "Seconds each probe may take.")
def check_command(queues: tuple[str, ...], timeout_s: float) -> int:
    """Send a probe job through every queue and report each one's latency."""
    from cli.checks import check_exit_code, run_check
    from config.queues import QUEUES

    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue {', '.join(unknown)}; queues: "
                                 f"{', '.join(QUEUES)}", param_hint="--queue")
    # A queue named twice is probed once: the report has one entry per queue.
    report = run_check(list(dict.fromkeys(queues)) or list(QUEUES), timeout_s=timeout_s)
    emit_json(report, pretty=True)
    return check_exit_code(report, failed=EXIT_FAILED, unavailable=EXIT_UNAVAILABLE)


# ---- jobs ------------------------------------------------------------------------------

@conveyor.group("jobs")
def jobs_group() -> None:
    """Inspect, wait for, retry and cancel jobs (they are rows in the jobs table)."""


for _command in JOB_CONTROL_COMMANDS:  # list, retry, cancel
    jobs_group.add_command(_command)


def _job_or_not_found(job_id: str) -> dict[str, Any]:
    from cli.jobs_client import database_reachable
    from store import jobs

    with database_reachable():
        row = jobs.get_job(job_id)
    if row is None:
        raise ContractError("JOB_NOT_FOUND", f"no job with id {job_id}", {"job_id": job_id},
                            EXIT_NOT_FOUND)
    return row


@jobs_group.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default; kept for scripts).")
def jobs_show_command(job_id: str, as_json: bool) -> None:
    """Show one job's row."""
    emit_json(_job_or_not_found(job_id), pretty=True)


@jobs_group.command("wait")
@click.argument("job_id")
@timeout_option(None, "Seconds to wait at most (default: until the job ends).")
def jobs_wait_command(job_id: str, timeout_s: float | None) -> int:
    """Wait until a job succeeds, fails or is canceled; print its row. Exit 0 if it
    succeeded, else 1. On a terminal, stderr shows its status and progress meanwhile."""
    from cli.job_watch import wait_for_row

    row = wait_for_row(_job_or_not_found(job_id), timeout_s=timeout_s)
    emit_json(row, pretty=True)
    return 0 if row["status"] == "succeeded" else EXIT_FAILED


@jobs_group.command("prune")
@click.option("--older-than-days", type=click.IntRange(0, MAX_PRUNE_DAYS), default=None,
              help="Default: CONVEYOR_JOB_RETENTION_DAYS (30).")
@click.option("--wait/--no-wait", "wait", default=True, show_default=True)
@timeout_option(60.0)
def jobs_prune_command(older_than_days: int | None, wait: bool, timeout_s: float) -> None:
    """Delete finished jobs older than the retention period (a job on the sweeps queue)."""
    from cli.jobs_client import run_job

    job, result = run_job("tasks.sweeps.prune_jobs", {"older_than_days": older_than_days},
                          wait=wait, timeout_s=timeout_s)
    emit_json(job.as_json() if not wait else {"job_id": job.job_id, **result}, pretty=True)


@jobs_group.command("reconcile")
@click.option("--older-than-s", type=Seconds(), default=None,
              help="Only jobs idle this long (default: CONVEYOR_RECONCILE_AFTER_S, 120).")
@timeout_option(120.0)
def jobs_reconcile_command(older_than_s: float | None, timeout_s: float) -> None:
    """Republish unfinished jobs whose message the broker lost (a job on the sweeps queue)."""
    from cli.jobs_client import run_job

    job, result = run_job("tasks.sweeps.reconcile_jobs", {"older_than_s": older_than_s},
                          timeout_s=timeout_s)
    emit_json({"job_id": job.job_id, **result}, pretty=True)


conveyor.add_command(metrics_group)  # `conveyor metrics [serve]`


# ---- database and worker ---------------------------------------------------------------

@conveyor.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Apply every migration to the configured database."""
    from config.connection import redact_url
    from store.engine import database_url
    from store.migrate import heads, upgrade

    url = database_url()
    upgrade(url)
    emit_json({"database": redact_url(url), "heads": sorted(heads())}, pretty=True)


@conveyor.command("worker", context_settings={"ignore_unknown_options": True})
@click.option("-Q", "--queues", default=None, metavar="Q1,Q2",
              help="Queues to consume (default: all).")
@click.option("-c", "--concurrency", type=click.IntRange(1, 256), default=None)
@click.option("--pool", type=click.Choice(["threads", "prefork", "solo"]), default="threads",
              show_default=True)
@click.option("-n", "--hostname", default=None)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_command(queues: str | None, concurrency: int | None, pool: str,
                   hostname: str | None, celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker in the foreground (a thin wrapper of `celery -A config worker`)."""
    from config.queues import QUEUES

    chosen = [q.strip() for q in (queues or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown queue {', '.join(unknown)}; queues: "
                                 f"{', '.join(QUEUES)}", param_hint="--queues")
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(chosen),
            "--pool", pool, "--without-mingle", "--without-gossip", "-E"]
    if concurrency:
        argv += ["-c", str(concurrency)]
    if hostname:
        argv += ["-n", hostname]
    argv += list(celery_args)
    from workers.stack import project_root

    sys.stdout.flush()
    # From the project's folder, so `-A config` cannot pick up another package named config.
    os.chdir(project_root())
    os.execv(sys.executable, argv)


def main() -> None:
    run_cli(conveyor, ERRORS, prog_name="conveyor")


if __name__ == "__main__":
    main()
