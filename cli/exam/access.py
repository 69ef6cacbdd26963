"""`environment-access authorize`: may this user open this session's environment?"""

from __future__ import annotations

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output


@click.group(context_settings=CONTEXT)
def environment_access() -> None:
    """Control access to execution environments."""


@environment_access.command("authorize")
@click.option("--session-id", required=True, metavar="UUID", help="Session identifier (UUID).")
@click.option("--user-id", required=True, metavar="UUID", help="User identifier (UUID).")
def authorize_command(session_id: str, user_id: str) -> None:
    """Grant (exit 0) or deny (exit 5, nothing revealed). Every decision is logged."""
    from domain.exam.access import authorize

    # Malformed ids are denied like everything else: the answer is grant or deny only.
    output(authorize(session_id.strip(), user_id.strip()))


def main() -> None:
    run_cli(environment_access, ERRORS, prog_name="environment-access")
