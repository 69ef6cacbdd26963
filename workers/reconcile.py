"""Find jobs whose message the broker lost, and publish them again from their rows.

kombu's Redis transport takes a message off its queue (BRPOP) and records it as
unacknowledged in a second command; if Redis goes down between the two, the message is
gone while its job's row still says queued or running. The row has everything needed
to send it again (task, queue, arguments, id), and tasks are idempotent, so a periodic
sweep compares the stale unfinished rows with every message the broker still holds
(in a queue, or delivered and unacknowledged) and republishes the missing ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from common.clock import utc_now
from config.logs import log_event
from config.queues import QUEUES
from store.job_schema import CORRELATION_HEADER

logger = logging.getLogger("conveyor.reconcile")

# kombu's Redis transport: a queue with message priorities uses these extra lists, and
# every delivered, unacknowledged message sits in one hash (kombu.transport.redis).
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
_UNACKED_KEY = "unacked"
_CHUNK = 1000


def _queue_keys(queues: Iterable[str]) -> Iterator[str]:
    for queue in queues:
        yield queue
        for step in _PRIORITY_STEPS:
            yield f"{queue}{_PRIORITY_SEPARATOR}{step}"


def _task_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, list):  # unacked entries are [message, exchange, routing_key]
        message = message[0] if message else {}
    headers = message.get("headers") if isinstance(message, dict) else None
    task_id = headers.get("id") if isinstance(headers, dict) else None
    return task_id if isinstance(task_id, str) else None


def task_ids_in_broker(client: Any, queues: Iterable[str] = QUEUES) -> set[str]:
    """The ids of every job the broker still holds, queued or delivered."""
    ids: set[str] = set()
    for key in _queue_keys(queues):
        length = client.llen(key)
        for start in range(0, length, _CHUNK):
            ids.update(filter(None, map(_task_id, client.lrange(key, start, start + _CHUNK - 1))))
    for _, raw in client.hscan_iter(_UNACKED_KEY, count=_CHUNK):
        task_id = _task_id(raw)
        if task_id:
            ids.add(task_id)
    return ids


def reconcile(app: Any, *, older_than_s: float) -> dict[str, Any]:
    """Republish unfinished jobs idle for ``older_than_s`` whose message is gone."""
    from store import job_writes, jobs

    connection = app.conveyor_connection
    if not connection.is_redis:
        return {"checked": 0, "republished": [], "skipped": "not a Redis broker"}
    import redis

    idle_since = utc_now() - timedelta(seconds=older_than_s)
    if not jobs.unfinished_jobs_idle_since(idle_since, limit=1):
        return {"checked": 0, "republished": []}  # the usual case: no broker scan at all
    client = redis.Redis.from_url(connection.broker_url, socket_timeout=10)
    # The broker first, the rows second: a job whose message left the broker before the
    # scan because it finished has a finished row by the time the rows are read (a task
    # writes its outcome before its message is acknowledged), so it is not mistaken for
    # a lost one.
    present = task_ids_in_broker(client)
    stale = jobs.unfinished_jobs_idle_since(idle_since)
    republished = []
    for row in stale:
        if row["id"] in present:
            continue
        # A worker that picked the job up meanwhile has moved its row: leave it alone.
        if not job_writes.requeue_if_idle(row["id"], idle_since=idle_since,
                                          reason="the broker lost its message; republished"):
            continue
        args = row.get("args") or {}
        app.send_task(row["kind"], args=args.get("args") or [], kwargs=args.get("kwargs") or {},
                      queue=row["queue"], task_id=row["id"],
                      headers={CORRELATION_HEADER: row.get("correlation_id")})
        log_event(logger, "job_republished", level=logging.WARNING, job_id=row["id"],
                  kind=row["kind"], was=row["status"])
        republished.append(row["id"])
    return {"checked": len(stale), "republished": republished}
