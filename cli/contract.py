"""Running a contract CLI: every outcome, bad flags included, in the contract's own format.

Each contract supplies an ErrorFormat: how its errors look, where they go, and
which codes and exit codes usage errors, job-system errors and unexpected errors
get. `run_cli` runs a click command under it and never lets a traceback out; the
traceback of an unexpected error goes to a log file under CONVEYOR_HOME.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import click

from cli.output import emit_json
from common.errors import ContractError, JobSystemError
from config.env import ConfigError

logger = logging.getLogger("conveyor.cli")

EXIT_INTERRUPTED = 130


class JobInterrupted(Exception):
    """Ctrl-C while waiting on a job: the job goes on (unless it ran in this process)."""

    def __init__(self, job_id: str, embedded: bool) -> None:
        super().__init__(job_id, embedded)
        self.job_id = job_id
        self.embedded = embedded


class ErrorFormat(Protocol):
    """How one contract reports errors."""

    def render(self, error: ContractError) -> None: ...

    def usage_error(self, message: str) -> ContractError: ...

    def system_error(self, error: JobSystemError) -> ContractError: ...

    def internal_error(self, message: str) -> ContractError: ...


@dataclass(frozen=True, kw_only=True)
class StandardErrorFormat:
    """`{"error": true, "code", "message", "details"}` on stderr (exam's standard format)."""

    usage_code: str = "INVALID_ARGUMENTS"
    usage_exit: int = 2
    system_code: str = "JOB_SYSTEM_UNAVAILABLE"
    system_exit: int = 1
    internal_code: str = "INTERNAL_ERROR"
    internal_exit: int = 1
    pretty: bool = True

    def render(self, error: ContractError) -> None:
        emit_json({"error": True, "code": error.code, "message": error.message,
                   "details": error.details}, pretty=self.pretty, stream=sys.stderr)

    def usage_error(self, message: str) -> ContractError:
        return ContractError(self.usage_code, message, {}, self.usage_exit)

    def system_error(self, error: JobSystemError) -> ContractError:
        return ContractError(self.system_code, error.message,
                             {"reason": error.reason, **error.details}, self.system_exit)

    def internal_error(self, message: str) -> ContractError:
        return ContractError(self.internal_code, message, {}, self.internal_exit)


def _cli_log_path() -> Path:
    from config.settings import get_settings

    return get_settings().home / "logs" / "cli.log"


def record_crash(prog: str, exc: BaseException) -> str:
    """Log the traceback to the CLI log file (never to the user); return where it went."""
    logger.error("unexpected error in %s", prog, exc_info=exc)
    return str(_cli_log_path())


def _report_interrupt(job: JobInterrupted) -> None:
    if job.embedded:
        message = "interrupted; the job ran inside this process and stopped with it"
    else:
        message = f"interrupted; the job goes on: conveyor jobs wait {job.job_id}"
    emit_json({"job_id": job.job_id, "interrupted": True, "message": message},
              stream=sys.stderr)


def _usage_message(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        # click's message is the whole help text; an error message is one short line.
        return f"missing command (see '{exc.ctx.command_path} --help')"
    message = exc.format_message()
    if ctx is not None and isinstance(exc, click.UsageError):
        return f"{message} (see '{ctx.command_path} --help')"
    return message


def configure_cli_logging() -> None:
    """Logs go to $CONVEYOR_HOME/logs/cli.log, and to stderr only from
    CONVEYOR_CLI_LOG_LEVEL up (default: critical, i.e. nothing), because scripts parse
    a contract's stderr as its error output; a command's --verbose may lower it."""
    from config.logs import configure_logging
    from config.settings import get_settings

    settings = get_settings()
    configure_logging(settings, level=settings.cli_log_level, log_file=_cli_log_path())


def package_version() -> str:
    """The installed distribution's version: what every console script's --version prints."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conveyor")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def ensure_version_option(command: click.Command, prog: str) -> None:
    """Give the command `--version` ("PROG, version X") unless it declares one itself;
    one place for all twelve console scripts.

    The version is read only when --version is asked for: reading it at start-up (as
    click.version_option(package_version()) does) imports importlib.metadata and scans
    the installed distributions, about 25 ms on every call of every CLI."""
    if any("--version" in getattr(param, "opts", ()) for param in command.params):
        return

    def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if not value or ctx.resilient_parsing:
            return
        click.echo(f"{prog}, version {package_version()}")
        ctx.exit()

    click.option("--version", is_flag=True, expose_value=False, is_eager=True,
                 callback=print_version, help="Show the version and exit.")(command)


def wants_bare_help(command: click.Command, args: Sequence[str] | None) -> bool:
    """A group called with nothing at all: its help on stdout, exit 0, as for --help
    (a person exploring, not a script: scripts always name a subcommand)."""
    words = list(args) if args is not None else sys.argv[1:]
    return isinstance(command, click.Group) and not words


def print_help(command: click.Command, prog: str) -> None:
    with click.Context(command, info_name=prog) as ctx:
        click.echo(ctx.get_help())


def invoke(command: click.Command, fmt: ErrorFormat, args: Sequence[str] | None = None,
           prog_name: str | None = None) -> int:
    """Run the command; return its exit code. Nothing escapes as a traceback."""
    prog = prog_name or command.name or "conveyor"
    ensure_version_option(command, prog)
    if wants_bare_help(command, args):
        print_help(command, prog)
        return 0
    return _guarded(command, fmt, args, prog)


def _guarded(command: click.Command, fmt: ErrorFormat, args: Sequence[str] | None,
             prog: str) -> int:
    try:
        configure_cli_logging()
        result: Any = command.main(args=list(args) if args is not None else None,
                                   prog_name=prog, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except (click.ClickException, ConfigError) as exc:
        message = _usage_message(exc) if isinstance(exc, click.ClickException) else str(exc)
        error = _state_folder_error(fmt, exc) or fmt.usage_error(message)
    except ContractError as exc:
        error = exc
    except JobSystemError as exc:
        error = _state_folder_error(fmt, exc) or fmt.system_error(exc)
    except JobInterrupted as exc:
        _report_interrupt(exc)
        return EXIT_INTERRUPTED
    except (KeyboardInterrupt, click.Abort):
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 1  # the reader went away; there is no one left to tell
    except Exception as exc:
        outage = database_outage(exc)
        error = ((_state_folder_error(fmt, outage) or fmt.system_error(outage)) if outage
                 else _state_folder_or_crash(fmt, prog, exc))
    fmt.render(error)
    return error.exit_code


def database_outage(exc: BaseException, *, what: str = "database") -> JobSystemError | None:
    """A locked or unreachable database as the system failing to serve, not a bug
    (None when ``exc`` is something else). The driver's text may name the server: the
    log has it, the message does not."""
    from workers.transient import is_database_outage

    if not is_database_outage(exc):
        return None
    from cli.state_errors import state_folder_problem

    disk = state_folder_problem(exc)
    if isinstance(disk, JobSystemError):
        return disk  # a full disk, not a lock or a network outage: say so
    logger.warning("the %s is unavailable: %s", what, exc)
    return JobSystemError("database_unavailable",
                          f"the {what} is locked or cannot be reached; try again shortly")


def _state_folder_or_crash(fmt: ErrorFormat, prog: str, exc: Exception) -> ContractError:
    from cli.state_errors import state_folder_problem

    problem = state_folder_problem(exc)
    if problem is None:
        return _crash(fmt, prog, exc)
    special = _state_folder_error(fmt, problem)
    if special is not None:
        return special
    if isinstance(problem, ConfigError):
        return fmt.usage_error(str(problem))
    return fmt.system_error(problem)


def _state_folder_error(fmt: ErrorFormat, exc: Exception) -> ContractError | None:
    """The contract's own error for an unusable state folder, when its format has one
    (chirality: IO_ERROR with errno and path); None: its usage or system error."""
    from cli.state_errors import FullStateFolder, UnwritableStateFolder

    own = getattr(fmt, "state_folder_error", None)
    if own is None or not isinstance(exc, UnwritableStateFolder | FullStateFolder):
        return None
    error: ContractError = own(exc)
    return error


def _crash(fmt: ErrorFormat, prog: str, exc: Exception) -> ContractError:
    where = record_crash(prog, exc)
    logger.debug("unexpected error", exc_info=exc)
    return fmt.internal_error(f"unexpected {type(exc).__name__}; details in {where}")


def run_cli(command: click.Command, fmt: ErrorFormat, args: Sequence[str] | None = None,
            prog_name: str | None = None) -> NoReturn:
    """Console-script entry point: invoke, then exit with the code."""
    code = invoke(command, fmt, args, prog_name)
    exit_now(code)


def exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's teardown, once everything is written.

    Freeing Celery's and kombu's modules at interpreter shutdown takes about 60 ms,
    a fifth of a cold CLI call; nothing in it matters to a process that is done.
    Exit handlers still run and every stream is flushed first; committed SQLite
    transactions are already in the database file or its write-ahead log.
    """
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            stream.flush()
    os._exit(code)
