"""`conveyor jobs wait`: follow a job's row until it ends."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from common.errors import JobSystemError
from store.job_schema import TERMINAL_STATUSES

if TYPE_CHECKING:
    from cli.jobs_client import ProgressLine

POLL_MAX_S = 0.25


def wait_for_row(row: dict[str, Any], *, timeout_s: float | None) -> dict[str, Any]:
    """Poll the row until its status is terminal; a missing worker or the timeout ends it."""
    from cli.jobs_client import ProgressLine
    from cli.output import stderr_is_terminal

    # On a terminal, stderr shows the row's status and progress as they change.
    progress = ProgressLine() if stderr_is_terminal() else None
    try:
        return _follow(row, timeout_s=timeout_s, progress=progress)
    finally:
        if progress is not None:
            progress.close()


def _follow(row: dict[str, Any], *, timeout_s: float | None,
            progress: ProgressLine | None) -> dict[str, Any]:
    from cli.jobs_client import JobClient, read_job_row

    client: JobClient | None = None
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delay, no_consumer_since = 0.01, None
    while row["status"] not in TERMINAL_STATUSES:
        if progress is not None:
            progress.show(row)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise JobSystemError("wait_timeout", f"job {row['id']} did not finish within "
                                 f"{timeout_s:g} s", {"job_id": row["id"], "status": row["status"]})
        client = client or JobClient()
        if client.has_consumer(row["queue"], grace_s=0):
            no_consumer_since = None
        else:
            no_consumer_since = no_consumer_since or now
            if now - no_consumer_since >= client.settings.no_worker_grace_s:
                raise JobSystemError("no_worker", f"no worker is consuming queue "
                                     f"'{row['queue']}'; job {row['id']} is {row['status']}",
                                     {"job_id": row["id"], "queue": row["queue"]})
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX_S)
        readable, fresh = read_job_row(row["id"])
        if not readable:
            continue  # the database is locked or unreachable: ask again (the deadline holds)
        if fresh is None:
            raise JobSystemError("job_vanished", f"job {row['id']} was deleted while waiting")
        row = fresh
    return row
