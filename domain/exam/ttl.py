"""TTL rules: expired = running past its duration; abandoned = no activity for 2x it.

Sessions keep both deadlines as columns (expires_at, abandon_at), so `check` and the
sweep compare stored deadlines with one timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.exam.states import LIVE_ENVIRONMENT, TERMINAL_STATES, SessionState

EXPIRED_REASON = "Session expired: ran past its duration"
ABANDONED_REASON = "Session abandoned: no activity for 2x its duration"


@dataclass(frozen=True, kw_only=True)
class TtlView:
    session_id: str
    state: str
    expires_at: datetime | None
    abandon_at: datetime
    env_status: str | None


def check(view: TtlView, now: datetime) -> dict[str, Any]:
    """The contract's `cleanup-ttl check` answer for one session."""
    state = SessionState(view.state)
    if state in TERMINAL_STATES:
        leftover = view.env_status in LIVE_ENVIRONMENT
        return _answer(view, leftover, "Session ended; its environment is still allocated"
                       if leftover else "Session already ended", 0)
    if state is SessionState.RUNNING and view.expires_at is not None \
            and view.expires_at <= now:
        return _answer(view, True, "Session expired (ran past its duration)", 0)
    if view.abandon_at <= now:
        return _answer(view, True, "Session abandoned (no activity for 2x its duration)", 0)
    deadlines = [view.abandon_at]
    if state is SessionState.RUNNING and view.expires_at is not None:
        deadlines.append(view.expires_at)
    remaining = int((min(deadlines) - now).total_seconds())
    return _answer(view, False, "Session still active", max(0, remaining))


def _answer(view: TtlView, should: bool, reason: str, remaining: int) -> dict[str, Any]:
    return {"session_id": view.session_id, "should_cleanup": should, "reason": reason,
            "ttl_remaining_seconds": remaining}
