"""`cleanup-ttl check|sweep`: TTL enforcement for exam sessions."""

from __future__ import annotations

import time

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output, parse_sid, session_id_option
from cli.job_options import timeout_option

SWEEP_TASK = "tasks.sweeps.exam_cleanup_ttl"
DESTROY_TASK = "tasks.environments.destroy"
DEFAULT_SWEEP_WAIT_S = 300.0
POLL_S = 0.05


@click.group(context_settings=CONTEXT)
def cleanup_ttl() -> None:
    """Manage session cleanup and TTL enforcement."""


@cleanup_ttl.command("check")
@session_id_option
def check_command(session_id: str) -> None:
    """Check whether a session should be cleaned up."""
    from domain.exam.reads import ttl_check

    output(ttl_check(parse_sid(session_id)))


@cleanup_ttl.command("sweep")
@click.option("--dry-run", is_flag=True, help="Report what a sweep would clean; change nothing.")
@timeout_option(DEFAULT_SWEEP_WAIT_S, "Seconds to wait for the sweep and its environment "
                                      "destroys.")
def sweep_command(dry_run: bool, timeout_s: float) -> None:
    """Sweep expired and abandoned sessions (a job on the `sweeps` queue; waits for it).

    The sessions' environments are destroyed by jobs on the `environments` queue; the
    command returns once those are done too. --dry-run reads the store directly.
    """
    if dry_run:
        from domain.exam.sweep import sweep

        output(sweep(dry_run=True).as_json())
        return
    from cli.jobs_client import run_job

    started = time.monotonic()
    job, result = run_job(SWEEP_TASK, {}, timeout_s=timeout_s)
    _wait_for_destroys(job.job_id, deadline=started + timeout_s)
    output(result)


def _wait_for_destroys(sweep_job_id: str, *, deadline: float) -> None:
    """Until every destroy job the sweep sent has finished (their rows name the sweep)."""
    from common.errors import JobSystemError
    from store.job_schema import TERMINAL_STATUSES
    from store.jobs_by_correlation import job_statuses

    terminal = {s.value for s in TERMINAL_STATUSES}
    while True:
        pending = [s for s in job_statuses(sweep_job_id, DESTROY_TASK) if s not in terminal]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise JobSystemError("wait_timeout", f"{len(pending)} environment destroy job(s) of "
                                 f"sweep {sweep_job_id} did not finish in time; they go on",
                                 {"job_id": sweep_job_id})
        time.sleep(POLL_S)


def main() -> None:
    run_cli(cleanup_ttl, ERRORS, prog_name="cleanup-ttl")
