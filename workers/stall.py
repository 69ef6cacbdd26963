"""Is this worker still consuming? A heartbeat must not outlive the consumer behind it.

After a network partition a worker's consumer connection can stay silent for many
seconds (TCP retransmissions back off exponentially) while its heartbeat, on a fresh
connection, says all is well: CLIs then wait for a worker that takes nothing. The
LeaseKeeper asks this detector on every renewal: a worker that has a free slot
while one of its queues holds messages, and took no new message for stall_s, is
stalled. It then leaves the consumer registry and exits (EXIT_STALLED), so that a
supervisor (the local stack, compose, Kubernetes) starts a fresh one, and until one
is back `conveyor check` and every CLI honestly say no_worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from config.env import env_float

EXIT_STALLED = 75  # EX_TEMPFAIL: try again (a restarted worker will)


def stall_after_s() -> float:
    """CONVEYOR_CONSUMER_STALL_S: how long a free worker may ignore waiting messages."""
    return env_float("CONVEYOR_CONSUMER_STALL_S", 15.0, minimum=0.5)


@dataclass
class StallDetector:
    stall_s: float
    _seen: set[str] = field(default_factory=set)
    _stalled_since: float | None = None

    def observe(self, *, now: float, delivered: Iterable[str], messages_waiting: bool,
                can_consume: bool) -> bool:
        """Record one look at the worker; True once it has been stalled for stall_s."""
        current = set(delivered)
        took_new = bool(current - self._seen)
        self._seen = current
        if took_new or not messages_waiting or not can_consume:
            self._stalled_since = None
            return False
        if self._stalled_since is None:
            self._stalled_since = now
        return now - self._stalled_since >= self.stall_s

    @property
    def stalled_for_s(self) -> float | None:
        return self._stalled_since
