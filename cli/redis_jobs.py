"""Publish jobs onto a Redis broker and hear their results, without Celery in the CLI.

Creating Celery's app and importing kombu and redis-py costs a CLI about 0.2 s before
its first byte reaches Redis; a submit-and-wait needs one LPUSH and one subscription.
This line sends a job in Celery's own message format (cli/celery_message.py) over one
RESP3 connection (cli/redis_wire.py): the SUBSCRIBE to the job's result channel goes
ahead of the LPUSH in the same write, so the result cannot be published unheard.
Workers, beat and the result backend are Celery's, unchanged.

It serves a redis:// broker whose result backend is the same Redis server (the local
stack, and the usual configuration); anything else goes through Celery's app.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from cli.celery_message import parse_result, result_key, task_message
from cli.redis_wire import Push, RedisAddress, RedisWire

# As Celery's task_publish_retry_policy (config/celery_settings.py): a publisher facing
# a dead broker tries this many more times, these many seconds apart.
PUBLISH_RETRY_DELAYS_S = (0.0, 0.2, 0.4)


def redis_line_for(broker_url: str, result_backend: str) -> RedisJobLine | None:
    """The line for this broker and backend, or None when Celery must do it."""
    broker = RedisAddress.from_url(broker_url)
    backend = RedisAddress.from_url(result_backend)
    if broker is None or backend is None or not broker.same_server(backend):
        return None
    return RedisJobLine(broker)


class RedisJobLine:
    """One connection: publishes, the consumer registry's reads, and result messages."""

    def __init__(self, broker: RedisAddress) -> None:
        self.wire = RedisWire(broker)
        # Final states that arrived for jobs other than the one being waited on.
        self._arrived: dict[str, dict[str, Any]] = {}
        # Jobs whose result channel is subscribed, and on which connection (by number).
        self._listening: dict[str, int] = {}

    def publish(self, task: str, *, task_id: str, kwargs: dict[str, Any], queue: str,
                expires_s: float | None, headers: dict[str, Any], listen: bool = True) -> None:
        """Subscribe to the job's result (unless nobody will wait for it), then put its
        message on the queue; a refused or lost connection is tried again as Celery's
        publish retry policy would. An unheard subscription would pile its result up in
        this connection until Redis cut it off."""
        message = task_message(task, task_id=task_id, kwargs=kwargs, queue=queue,
                               expires_s=expires_s, extra_headers=headers)
        channel = result_key(task_id)
        for attempt, delay_s in enumerate((*PUBLISH_RETRY_DELAYS_S, None)):
            try:
                if not listen:
                    self.wire.execute("LPUSH", queue, message)
                    return
                with self.wire.lock:
                    self.wire.subscribe_then(channel, ["LPUSH", queue, message])
                    self._listening[task_id] = self.wire.connection_number
                return
            except OSError:
                if delay_s is None or attempt == len(PUBLISH_RETRY_DELAYS_S):
                    raise
                time.sleep(delay_s)

    def listens_for(self, task_id: str) -> bool:
        """Whether a result of this job can still be heard here (or has been)."""
        with self.wire.lock:
            return task_id in self._arrived or \
                self._listening.get(task_id) == self._current_connection()

    def wait_result(self, task_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The job's final state document, or None if it did not come within timeout_s.

        OSError when the connection is lost: a result published meanwhile is not heard
        again, and the caller reads the outcome from the jobs table instead. Results
        of other jobs read on the way (another thread's) are kept for their waiters."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.wire.lock:
                if task_id in self._arrived:
                    return self._collect(task_id)
                if not self.listens_for(task_id):
                    raise OSError("the connection that listened for the job's result is gone")
            push = self.wire.next_push(deadline - time.monotonic())
            with self.wire.lock:
                if push is not None:
                    self._note(push)
                elif task_id not in self._arrived:
                    return None

    def _collect(self, task_id: str) -> dict[str, Any]:
        self._listening.pop(task_id, None)
        with contextlib.suppress(OSError):  # the result is here; a next command reconnects
            self.wire.send_only(["UNSUBSCRIBE", result_key(task_id)])
        return self._arrived.pop(task_id)

    def _current_connection(self) -> int | None:
        return self.wire.connection_number if self.wire.connected else None

    def _note(self, push: Push) -> None:
        """Keep a final state from a result message; other pushes (the confirmations of
        SUBSCRIBE and UNSUBSCRIBE, non-final states such as RETRY) change nothing."""
        if len(push) != 3 or push[0] != b"message" or not isinstance(push[2], bytes):
            return
        channel = push[1].decode() if isinstance(push[1], bytes) else str(push[1])
        task_id = channel.removeprefix(result_key(""))
        meta = parse_result(push[2])
        if meta is not None and task_id in self._listening:
            self._arrived[task_id] = meta
