"""`session-status get`: the authoritative session status for the candidate's screen."""

from __future__ import annotations

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output, parse_sid, session_id_option


@click.group(context_settings=CONTEXT)
def session_status() -> None:
    """Provide authoritative session status for frontend display."""


@session_status.command("get")
@session_id_option
def get_command(session_id: str) -> None:
    """Display state, message, progress and time left (or the error form)."""
    from domain.exam.reads import session_display

    output(session_display(parse_sid(session_id)))


def main() -> None:
    run_cli(session_status, ERRORS, prog_name="session-status")
