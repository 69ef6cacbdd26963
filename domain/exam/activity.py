"""Activity and abandonment: a session unused for twice its duration is abandoned."""

from __future__ import annotations

from datetime import datetime, timedelta

# Abandoned = no activity for this many times the session's duration.
ABANDON_FACTOR = 2


def abandon_deadline(last_activity_at: datetime, duration_seconds: int) -> datetime:
    return last_activity_at + timedelta(seconds=ABANDON_FACTOR * duration_seconds)
