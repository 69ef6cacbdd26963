"""`session-identity validate`: are all identity components present and RFC 4122 UUIDs?"""

from __future__ import annotations

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output


@click.group(context_settings=CONTEXT)
def session_identity() -> None:
    """Validate explicit identity presence."""


@session_identity.command("validate")
@click.option("--user-id", metavar="UUID", help="User identifier (UUID). Required.")
@click.option("--session-id", metavar="UUID", help="Session identifier (UUID). Required.")
@click.option("--environment-id", metavar="UUID", help="Environment identifier (UUID).")
def validate_command(user_id: str | None, session_id: str | None,
                     environment_id: str | None) -> None:
    """Validate that every required identity component is present and valid.

    A missing --user-id or --session-id is a validation failure (exit 3) that lists
    every missing component, not an argument error.
    """
    from domain.exam.identity import validate_identity

    identity = validate_identity(user_id, session_id, environment_id)
    output({"valid": True, "identity": identity.as_json()})


def main() -> None:
    run_cli(session_identity, ERRORS, prog_name="session-identity")
