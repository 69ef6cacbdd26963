"""`execution-environment create|status|destroy`: isolated environments, through the queue."""

from __future__ import annotations

from typing import Any

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output, parse_sid, session_id_option
from cli.job_options import wait_option

DEFAULT_CREATE_TIMEOUT_S = 60
MAX_CREATE_TIMEOUT_S = 3600
# Beyond --timeout, the job may spend this long on retries of the Kubernetes API
# (3 retries: about 1 + 2 + 4 s with the default backoff) and on bookkeeping, so the
# CLI waits long enough to hear the job's own answer, a timeout failure included.
JOB_WAIT_MARGIN_S = 60.0
DESTROY_WAIT_S = 120.0


@click.group(context_settings=CONTEXT)
def execution_environment() -> None:
    """Manage isolated execution environments."""


def _print_job_or_result(job: Any, result: Any) -> None:
    output(result if result is not None else job.as_json())


@execution_environment.command("create")
@session_id_option
@click.option("--timeout", "timeout_s", type=click.IntRange(1, MAX_CREATE_TIMEOUT_S),
              default=DEFAULT_CREATE_TIMEOUT_S, show_default=True,
              help="Creation timeout in seconds: the environment must be ready by then.")
@wait_option
def create_command(session_id: str, timeout_s: int, wait: bool) -> None:
    """Create the session's environment (a job on the `environments` queue) and wait."""
    from cli.jobs_client import run_job

    sid = parse_sid(session_id)
    job, result = run_job("tasks.environments.create",
                          {"session_id": sid, "timeout_s": timeout_s}, wait=wait,
                          timeout_s=timeout_s + JOB_WAIT_MARGIN_S)
    _print_job_or_result(job, result)


@execution_environment.command("status")
@session_id_option
def status_command(session_id: str) -> None:
    """Get the current status of the session's environment."""
    from common.errors import ContractError, TransientError
    from domain.exam.environment_status import environment_status

    sid = parse_sid(session_id)
    try:
        output(environment_status(sid))
    except TransientError as exc:
        raise ContractError("ENVIRONMENT_STATUS_FAILED", "Failed to read the environment status",
                            {"session_id": sid, "reason": exc.message}, 1) from None


@execution_environment.command("destroy")
@session_id_option
@wait_option
def destroy_command(session_id: str, wait: bool) -> None:
    """Destroy the session's environment (a job on the `environments` queue)."""
    from cli.jobs_client import run_job

    sid = parse_sid(session_id)
    job, result = run_job("tasks.environments.destroy", {"session_id": sid}, wait=wait,
                          timeout_s=DESTROY_WAIT_S)
    _print_job_or_result(job, result)


def main() -> None:
    run_cli(execution_environment, ERRORS, prog_name="execution-environment")
