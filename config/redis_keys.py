"""Every Redis key Conveyor itself writes (kombu and Celery keep their own)."""

from __future__ import annotations

KEY_PREFIX = "conveyor:"

# Sorted set per queue: member = worker hostname, score = unix time of its last heartbeat.
CONSUMERS_KEY_PREFIX = f"{KEY_PREFIX}consumers:"


def consumers_key(queue: str) -> str:
    return f"{CONSUMERS_KEY_PREFIX}{queue}"
