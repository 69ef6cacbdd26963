"""The probe job `conveyor check` sends through every queue."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from workers.base_task import PersistedTask

MAX_PROBE_SLEEP_MS = 60_000


@shared_task(name="tasks.probe.probe", base=PersistedTask, bind=True, max_attempts=3)
def probe(self: PersistedTask, sent_at: float | None = None, sleep_ms: int = 0,
          marker: str | None = None) -> dict[str, Any]:
    """Answer at once (or after sleep_ms, for load and failure drills) with where it ran.

    The marker comes back in the result, which the worker writes into the job's row in
    its database: `conveyor check` reads it from the CLI's database to prove both are
    the same one."""
    if sleep_ms:
        time.sleep(min(max(int(sleep_ms), 0), MAX_PROBE_SLEEP_MS) / 1000)
    return {"ok": True, "worker": self.request.hostname,
            "queue": self._queue_name(), "sent_at": sent_at, "marker": marker}
