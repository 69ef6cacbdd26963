"""Bring back, within the visibility timeout, a job whose message a dying worker took.

kombu's Redis transport pops a message (BRPOP) and records it as unacknowledged in a
second step; a worker killed between the two takes the message with it, and its row
stays queued with nothing left in Redis. The beat's reconcile sweep finds such jobs,
but only after CONVEYOR_RECONCILE_AFTER_S (120 s) plus its interval (60 s). So every
worker consuming the sweeps queue also runs the same reconcile (workers/reconcile.py)
from its lease thread, at most once per scan interval across all workers (a Redis lock),
for rows idle since half the visibility timeout. Republishing is guarded by the row
(requeue_if_idle) and tasks are idempotent, so two scans never run a job twice for long.

Bound: a lost job is published again at most after_s + scan_s after its row last moved:
with the defaults (visibility timeout 10 s) 5 s + 2.5 s = 7.5 s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from config.env import env_float
from config.queues import SWEEPS

logger = logging.getLogger("conveyor.reconcile")

LOCK_KEY = "conveyor:lost-jobs-scan"


@dataclass(frozen=True)
class LostJobScan:
    after_s: float
    """Rows idle this long whose message is nowhere in Redis are lost."""
    scan_s: float
    """How often one of the sweeps workers looks."""

    @classmethod
    def from_env(cls, visibility_timeout_s: float) -> LostJobScan:
        return cls(after_s=env_float("CONVEYOR_LOST_JOB_AFTER_S", visibility_timeout_s / 2,
                                     minimum=0.5),
                   scan_s=env_float("CONVEYOR_LOST_JOB_SCAN_S", visibility_timeout_s / 4,
                                    minimum=0.2))


class LostJobScanner:
    """Called on every lease renewal; scans when due and when it holds the lock."""

    def __init__(self, scan: LostJobScan) -> None:
        self.scan = scan
        self._next = 0.0

    def maybe_scan(self, app: Any, client: Any, queues: list[str]) -> dict[str, Any] | None:
        now = time.monotonic()
        if SWEEPS not in queues or now < self._next:
            return None
        self._next = now + self.scan.scan_s
        # One scan per interval across every sweeps worker.
        if not client.set(LOCK_KEY, "1", nx=True, px=int(self.scan.scan_s * 1000)):
            return None
        from workers.reconcile import reconcile

        outcome = reconcile(app, older_than_s=self.scan.after_s)
        if outcome.get("republished"):
            logger.warning("republished %d lost job(s)", len(outcome["republished"]))
        return outcome
