"""`chirality`: the producer (compute-pipeline) and consumer (validate-run) sides of
chirality-framework.md.

stdout carries exactly one JSON line on success; errors are one JSON line on stderr,
{"error": {"code", "message", "details"}}; exit codes 0 success, 1 unexpected (and an
invalid run for validate-run), 2 invalid arguments (click's usage errors included),
3 timeout, 4 filesystem I/O, 5 resolver (docs/chirality.md).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.contract import run_cli
from cli.output import emit_json
from cli.state_errors import StateFolderError
from common.errors import ContractError, JobSystemError
from domain.chirality import errors as codes

TASK = "tasks.pipelines.compute_pipeline"
# How long past --max-seconds the CLI waits for the worker's answer: the worker stops
# at the deadline itself; this bounds the wait when the worker is slow to say so.
CLI_WAIT_GRACE_S = 1.0
MAX_SECONDS_LIMIT = 7 * 24 * 3600

logger = logging.getLogger("conveyor.chirality")


@dataclass(frozen=True)
class ChiralityErrorFormat:
    """One JSON object on one stderr line: {"error": {"code", "message", "details"}}."""

    def render(self, error: ContractError) -> None:
        emit_json({"error": {"code": error.code, "message": error.message,
                             "details": error.details}}, stream=sys.stderr)

    def usage_error(self, message: str) -> ContractError:
        return ContractError(codes.INVALID_ARGUMENTS, message, {}, codes.EXIT_INVALID_ARGUMENTS)

    def system_error(self, error: JobSystemError) -> ContractError:
        details = {"reason": error.reason, **error.details}
        if error.reason == "wait_timeout":
            return ContractError(codes.TIMEOUT, f"the run did not finish within --max-seconds; "
                                 f"{error.message}", details, codes.EXIT_TIMEOUT)
        return ContractError(codes.JOB_SYSTEM_UNAVAILABLE, error.message, details,
                             codes.EXIT_GENERAL)

    def internal_error(self, message: str) -> ContractError:
        return ContractError(codes.INTERNAL_ERROR, message, {}, codes.EXIT_GENERAL)

    def state_folder_error(self, problem: StateFolderError) -> ContractError:
        """A read-only or full CONVEYOR_HOME is the file system failing: IO_ERROR (exit 4)
        with errno and path, as a read-only or full runs root is."""
        return codes.io_error(str(problem), problem.os_error)


ERRORS = ChiralityErrorFormat()


def _configure_logging(verbose: bool) -> None:
    """--verbose: informational logs on stderr (the worker's too, in the embedded mode).

    At the default CONVEYOR_CLI_LOG_LEVEL (critical) no log record reaches stderr, and
    with it set to warning warnings are dropped as well, so that stderr holds the
    command's own lines only and, on failure, the one JSON error a program reads; each
    warning would only repeat part of that error. Another level (info, debug, error) set
    explicitly is left as the operator chose it.
    """
    from config.settings import get_settings

    settings = get_settings()
    if not verbose:
        if settings.cli_log_level == "warning":
            logging.disable(logging.WARNING)
        return
    from config.logs import configure_logging

    configure_logging(settings, level="info")
    # One line per HTTP request (hundreds a run) is the resolver's business, not the user's.
    for chatty in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _runs_root(configured: Path | None) -> Path:
    """Absolute, existing: the folder whose runs/<run_id> the run goes to."""
    root = Path(os.path.abspath(configured if configured is not None else Path.cwd()))
    if not _is_folder(root):
        raise codes.invalid_arguments(f"the runs root {root} (CHIRALITY_RUNS_ROOT) is not an "
                                      f"existing folder", runs_root=str(root))
    return root


def _is_folder(path: Path) -> bool:
    """is_dir() that also says no for a name too long for the file system (ENAMETOOLONG)."""
    try:
        return path.is_dir()
    except OSError:
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="conveyor", prog_name="chirality")
def chirality() -> None:
    """Compute chirality pipeline runs and validate them (chirality-framework.md)."""


@chirality.command("compute-pipeline")
@click.option("--resolver", type=click.Choice(["openai", "echo"]), required=True,
              help="openai: any OpenAI-compatible endpoint; echo: deterministic, for tests.")
@click.option("--snapshot-jsonl", is_flag=True,
              help="Write snapshots/{C,D,X,E}.jsonl (always written: the manifest needs them).")
@click.option("--out", metavar="runs/<run_id>", default=None,
              help="The run's folder under the runs root. Default: a new run id.")
@click.option("--problem-file", metavar="PATH", required=True,
              help='JSON file: {"title": "...", "statement": "..."}.')
@click.option("--max-seconds", type=click.IntRange(1, MAX_SECONDS_LIMIT), default=900,
              show_default=True, help="Hard time limit of the whole run.")
@click.option("--force", is_flag=True, help="Recompute even if the run has a valid manifest.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Resolver calls in flight at once. Default: CHIRALITY_CONCURRENCY (8).")
@click.option("--verbose", is_flag=True, help="Informational logs on stderr.")
def compute_pipeline_command(resolver: str, snapshot_jsonl: bool, out: str | None,
                             problem_file: str, max_seconds: int, force: bool,
                             concurrency: int | None, verbose: bool) -> None:
    """Compute runs/<run_id>: snapshots, then the manifest; print run_id and manifest."""
    started = time.time()
    from config.chirality import load_chirality_settings
    from domain.chirality.problem import read_problem_file
    from domain.chirality.run_ids import new_run_id, run_id_from_out

    # Everything the user gave is checked before anything is created or submitted.
    run_id = run_id_from_out(out) if out is not None else new_run_id()
    problem = read_problem_file(Path(problem_file))
    root = _runs_root(load_chirality_settings().runs_root)
    _configure_logging(verbose)
    kwargs: dict[str, Any] = {
        "run_id": run_id, "runs_root": str(root), "resolver": resolver,
        "problem": problem.as_json(), "max_seconds": max_seconds,
        "deadline_epoch": started + max_seconds, "force": force, "concurrency": concurrency}
    result = _submit_and_wait(kwargs, run_id=run_id,
                              wait_until=started + max_seconds + CLI_WAIT_GRACE_S)
    if result.get("reused"):
        sys.stderr.write(f"chirality: run {run_id} already has a valid manifest; not "
                         f"recomputed (--force recomputes it)\n")
    emit_json({"run_id": result["run_id"], "manifest": result["manifest"]})


def _submit_and_wait(kwargs: dict[str, Any], *, run_id: str, wait_until: float) -> Any:
    """run_job's submit-and-wait, with the wait bounded by an end time rather than a length.

    --max-seconds counts from the command's start; submitting (importing Celery, the
    consumer check) takes a moment, so the wait gets what is left of the time.
    """
    from cli.jobs_client import JobClient, ProgressLine
    from cli.output import stderr_is_terminal

    client = JobClient()
    job = client.submit(TASK, kwargs, correlation_id=f"chirality:{run_id}")
    progress = ProgressLine() if stderr_is_terminal() else None
    try:
        return client.wait(job, timeout_s=max(wait_until - time.time(), 0.05),
                           on_tick=progress)
    finally:
        if progress is not None:
            progress.close()


@chirality.command("validate-run")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--strict", is_flag=True,
              help="Also reject fields the schemas do not name (the producer's own check).")
def validate_run_command(run_dir: str, strict: bool) -> None:
    """Check a run as its consumer must: manifest, versions, run_id, every snapshot."""
    from domain.chirality.validate import validate_run

    path = Path(run_dir)
    if not _is_folder(path):
        raise codes.invalid_arguments(f"{run_dir} is not an existing folder", run_dir=run_dir)
    report = validate_run(path, strict=strict)
    for warning in report.warnings:
        sys.stderr.write(f"chirality: warning: {warning}\n")
    if not report.ok:
        raise ContractError(codes.RUN_INVALID,
                            f"run {run_dir} is invalid: {report.problems[0]}"
                            + (f" (and {len(report.problems) - 1} more problems)"
                               if len(report.problems) > 1 else ""),
                            {"problems": report.problems, "warnings": report.warnings},
                            codes.EXIT_GENERAL)
    result = report.as_json()
    result.pop("problems")
    emit_json(result)


def main() -> None:
    run_cli(chirality, ERRORS, prog_name="chirality")


if __name__ == "__main__":
    main()
