"""Keep a worker alive when Redis goes away while it holds unacknowledged messages.

On a lost connection, kombu's Redis channel closes and tries to put the messages its
worker holds back on their queues; when the connection object is already released it
fails with AttributeError ('NoneType' object has no attribute 'hostname'), Celery calls
that unrecoverable, and the worker exits (seen in the Redis-restart drill on a loaded
machine). Those messages need no rescue: they stay in Redis's unacked hash, and once
their lease is no longer renewed any worker restores them after the visibility timeout.
So the failed restore is logged and the worker reconnects like after any broker blip.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("conveyor.broker")


def guard_restore_on_lost_connection() -> None:
    """Patch kombu's Redis QoS once per process (idempotent)."""
    from kombu.transport import redis as kombu_redis

    original: Callable[..., Any] = kombu_redis.QoS.restore_unacked
    if getattr(original, "conveyor_guarded", False):
        return

    @functools.wraps(original)
    def restore_unacked(self: Any, client: Any = None) -> None:
        try:
            original(self, client)
        except AttributeError:
            if self.channel.connection.client is not None:
                raise  # not the released-connection case: a real bug, let it surface
            logger.warning("the broker connection is gone; %d held message(s) return "
                           "after the visibility timeout", len(self._delivered))

    restore_unacked.conveyor_guarded = True  # type: ignore[attr-defined]
    setattr(kombu_redis.QoS, "restore_unacked", restore_unacked)  # noqa: B010 - a patch
