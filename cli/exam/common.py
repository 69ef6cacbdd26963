"""What the exam CLIs share: the error format, output, and id options (import-light)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli.contract import StandardErrorFormat
from cli.output import emit_json

F = TypeVar("F", bound=Callable[..., Any])

# The contract's standard error JSON on stderr; argument errors exit 2; the job system
# failing and unexpected errors are general errors (exit 1).
ERRORS = StandardErrorFormat(usage_code="INVALID_ARGUMENTS", usage_exit=2,
                             system_code="JOB_SYSTEM_UNAVAILABLE", system_exit=1,
                             internal_code="INTERNAL_ERROR", internal_exit=1)

CONTEXT = {"help_option_names": ["-h", "--help"]}


def output(data: Any) -> None:
    emit_json(data, pretty=True)


def session_id_option(func: F) -> F:
    return click.option("--session-id", "session_id", required=True, metavar="UUID",
                        help="Session identifier (UUID).")(func)


def user_id_option(func: F) -> F:
    return click.option("--user-id", "user_id", required=True, metavar="UUID",
                        help="User identifier (UUID).")(func)


def storable_text(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback for free text that is stored (a reason): text a database cannot
    hold (NUL, bytes that are not UTF-8) is an argument error (exit 2), not a crash."""
    from store.text import storable

    if value is not None and not storable(value):
        raise click.BadParameter("must be UTF-8 text without NUL characters", param=param)
    return value


def parse_sid(value: str) -> str:
    """The flag's value in canonical form, or INVALID_IDENTITY (exit 3)."""
    from domain.exam.identity import parse_session_id

    return parse_session_id(value, "session_id")
