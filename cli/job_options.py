"""Click options shared by every command that submits a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def wait_option(func: F) -> F:
    """--wait/--no-wait: wait for the job (default), or print its id at once."""
    return click.option(
        "--wait/--no-wait", "wait", default=True, show_default=True,
        help="Wait for the job and print its result, or print the job id at once "
             "(then: conveyor jobs wait ID).")(func)


def timeout_option(default: float | None = None, help_text: str | None = None) -> Callable[[F], F]:
    """--timeout SECONDS: how long to wait for the job before giving up (it goes on)."""
    return click.option(
        "--timeout", "timeout_s", type=click.FloatRange(min=0.0, min_open=True),
        default=default, show_default=default is not None,
        help=help_text or "Seconds to wait for the job; the job itself goes on.")


def job_options(default_timeout: float | None = None) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return wait_option(timeout_option(default_timeout)(func))
    return decorate
