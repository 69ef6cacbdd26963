"""Click options shared by every command that submits a job."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# About 31 years: longer than any wait, and within what datetime arithmetic can add to now.
MAX_SECONDS = 1e9


class Seconds(click.FloatRange):
    """A finite number of seconds from 0 (or just above, with min_open) to MAX_SECONDS.

    click.FloatRange alone lets "nan" through (every comparison with NaN is false), and
    a NaN or huge deadline would make a wait endless or overflow a date computation.
    """

    name = "seconds"

    def __init__(self, *, min_open: bool = False) -> None:
        super().__init__(min=0.0, max=MAX_SECONDS, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return number


def wait_option(func: F) -> F:
    """--wait/--no-wait: wait for the job (default), or print its id at once."""
    return click.option(
        "--wait/--no-wait", "wait", default=True, show_default=True,
        help="Wait for the job and print its result, or print the job id at once "
             "(then: conveyor jobs wait ID).")(func)


def timeout_option(default: float | None = None, help_text: str | None = None) -> Callable[[F], F]:
    """--timeout SECONDS: how long to wait for the job before giving up (it goes on)."""
    return click.option(
        "--timeout", "timeout_s", type=Seconds(min_open=True),
        default=default, show_default=default is not None,
        help=help_text or "Seconds to wait for the job; the job itself goes on.")


def job_options(default_timeout: float | None = None) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return wait_option(timeout_option(default_timeout)(func))
    return decorate
