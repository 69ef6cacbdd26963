"""`session-lifecycle create|transition|status`: a session's lifecycle state machine."""

from __future__ import annotations

import click

from cli.contract import run_cli
from cli.exam.common import (
    CONTEXT,
    ERRORS,
    output,
    parse_sid,
    session_id_option,
    storable_text,
)
from domain.exam.states import ALL_STATES

MAX_DURATION_S = 7 * 24 * 3600


@click.group(context_settings=CONTEXT)
def session_lifecycle() -> None:
    """Manage session lifecycle state transitions."""


@session_lifecycle.command("create")
@click.option("--user-id", required=True, metavar="UUID", help="User identifier (UUID).")
@session_id_option
@click.option("--duration-seconds", type=click.IntRange(1, MAX_DURATION_S), default=None,
              help="Exam duration in seconds (default: CONVEYOR_EXAM_DEFAULT_DURATION_S, 7200).")
def create_command(user_id: str, session_id: str, duration_seconds: int | None) -> None:
    """Create a session in state `created` (at most one non-terminal session per user)."""
    from config.exam import get_exam_settings
    from domain.exam.identity import parse_session_id
    from domain.exam.sessions import create_session

    uid = parse_session_id(user_id, "user_id")
    sid = parse_session_id(session_id, "session_id")
    duration = duration_seconds or _default_duration_s(get_exam_settings().default_duration_s)
    output(create_session(uid, sid, duration))


def _default_duration_s(value: int) -> int:
    """The setting, held to the bound --duration-seconds has (a huge one overflows the
    session's deadlines and the database's integers)."""
    from config.env import ConfigError

    if value > MAX_DURATION_S:
        raise ConfigError(f"CONVEYOR_EXAM_DEFAULT_DURATION_S must be at most {MAX_DURATION_S}, "
                          f"got {value}")
    return value


@session_lifecycle.command("transition")
@session_id_option
@click.option("--to", "to_state", required=True, type=click.Choice(ALL_STATES),
              help="Target state.")
@click.option("--reason", default=None, callback=storable_text,
              help="Reason for the transition (required for 'failed').")
def transition_command(session_id: str, to_state: str, reason: str | None) -> None:
    """Transition a session to a new lifecycle state."""
    from domain.exam.sessions import transition
    from domain.exam.states import SessionState

    if to_state == SessionState.FAILED and not (reason and reason.strip()):
        raise click.UsageError("--reason is required when transitioning to 'failed'")
    sid = parse_sid(session_id)
    # A blank reason is no reason (as for 'failed', above): stored as null, not "".
    output(transition(sid, SessionState(to_state), (reason or "").strip() or None))


@session_lifecycle.command("status")
@session_id_option
def status_command(session_id: str) -> None:
    """Get the current lifecycle state of a session."""
    from domain.exam.reads import session_status

    output(session_status(parse_sid(session_id)))


def main() -> None:
    run_cli(session_lifecycle, ERRORS, prog_name="session-lifecycle")
