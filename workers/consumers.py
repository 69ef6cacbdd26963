"""Which workers consume which queue: a heartbeat registry in the broker's Redis.

Workers write it (workers/lease.py); a CLI reads it before and while waiting, so
that "no worker consumes this queue" is said within seconds instead of a hang.
"""

from __future__ import annotations

import time
from typing import Any

from config.redis_keys import consumers_key


def consumer_ttl_s(lease_renew_s: float) -> float:
    """A worker whose last heartbeat is older than this is gone."""
    return max(3 * lease_renew_s, 5.0)


def live_consumers(client: Any, queue: str, *, lease_renew_s: float,
                   now: float | None = None) -> list[str]:
    """Hostnames of workers that consumed ``queue`` recently enough to count as alive."""
    now = time.time() if now is None else now
    oldest = now - consumer_ttl_s(lease_renew_s)
    members = client.zrangebyscore(consumers_key(queue), oldest, "+inf")
    return [m.decode() if isinstance(m, bytes) else str(m) for m in members]


def heartbeat(pipe: Any, queues: list[str], hostname: str, *, lease_renew_s: float,
              now: float | None = None) -> None:
    """Record (in a pipeline) that ``hostname`` consumes ``queues``; forget long-dead ones."""
    now = time.time() if now is None else now
    for queue in queues:
        key = consumers_key(queue)
        pipe.zadd(key, {hostname: now})
        pipe.zremrangebyscore(key, "-inf", now - 10 * consumer_ttl_s(lease_renew_s))


def leave(client: Any, queues: list[str], hostname: str) -> None:
    """Remove ``hostname`` at once (a clean shutdown)."""
    pipe = client.pipeline()
    for queue in queues:
        pipe.zrem(consumers_key(queue), hostname)
    pipe.execute()
