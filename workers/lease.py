"""Lease renewal for messages a live worker holds, and its consumer heartbeat.

With the Redis transport a delivered message stays "unacked" with a timestamp;
any worker restores it to its queue once that timestamp is older than the
visibility timeout. A short timeout brings a killed worker's job back within
seconds, but would also hand out again a job that is merely long, or waiting on
a retry countdown (ETA), in a live worker. This bootstep keeps the timestamps of
every message its worker holds fresh, so only a dead worker's messages expire.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import bootsteps

from config.settings import get_settings
from workers.consumers import heartbeat, leave
from workers.lost_jobs import LostJobScan, LostJobScanner
from workers.stall import EXIT_STALLED, StallDetector, stall_after_s

logger = logging.getLogger("conveyor.lease")


class LeaseKeeper(bootsteps.StartStopStep):  # type: ignore[misc]
    """Consumer bootstep: a thread renewing leases and the consumer heartbeat."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._queues: list[str] = []
        self._stall = StallDetector(stall_after_s())
        self._lost_jobs = LostJobScanner(LostJobScan.from_env(get_settings().visibility_timeout_s))

    def start(self, consumer: Any) -> None:
        connection = getattr(consumer.app, "conveyor_connection", None)
        if connection is None or not connection.is_redis or self._thread is not None:
            return
        import redis

        self._client = redis.Redis.from_url(connection.broker_url, socket_timeout=5,
                                            socket_connect_timeout=5)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(consumer,), daemon=True,
                                        name="conveyor-lease")
        self._thread.start()

    def stop(self, consumer: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._client is not None and self._queues:
            try:
                leave(self._client, self._queues, consumer.hostname)
            except Exception:  # the broker may be gone already; the heartbeat then expires
                logger.debug("could not leave the consumer registry", exc_info=True)

    shutdown = stop

    def _run(self, consumer: Any) -> None:
        renew_s = get_settings().lease_renew_s
        while not self._stop.is_set():
            try:
                self._renew(consumer, renew_s)
            except Exception:  # keep renewing; a broker blip must not end the thread
                logger.warning("lease renewal failed", exc_info=True)
            self._stop.wait(renew_s)

    def _renew(self, consumer: Any, renew_s: float) -> None:
        task_consumer = consumer.task_consumer
        if task_consumer is None:
            return
        channel = task_consumer.channel
        self._queues = [q.name for q in task_consumer.queues]
        # kombu's QoS keeps every delivered, unacknowledged message in _delivered,
        # ETA-held retries included; there is no public accessor for that set.
        tags = list(getattr(channel.qos, "_delivered", {}))
        waiting = self._client.pipeline(transaction=False)
        for queue in self._queues:
            waiting.llen(queue)
        messages_waiting = any(waiting.execute())
        if self._stall.observe(now=time.monotonic(), delivered=map(str, tags),
                               messages_waiting=messages_waiting,
                               can_consume=channel.qos.can_consume()):
            self._exit_stalled(consumer)
        now = time.time()
        pipe = self._client.pipeline(transaction=False)
        for tag in tags:
            pipe.zadd(channel.unacked_index_key, {tag: now}, xx=True)
        heartbeat(pipe, self._queues, consumer.hostname, lease_renew_s=renew_s, now=now)
        pipe.execute()
        try:
            self._lost_jobs.maybe_scan(consumer.app, self._client, self._queues)
        except Exception:  # a database or broker blip: the next scan tries again
            logger.warning("lost-job scan failed", exc_info=True)

    def _exit_stalled(self, consumer: Any) -> None:
        """Stop claiming to consume, then exit for a supervisor to start a fresh worker.

        os._exit: a warm shutdown would wait on the very connection that is stuck. The
        messages this worker holds are restored by others after the visibility timeout."""
        logger.error("consumer stalled: messages wait on %s and this worker has room, but "
                     "it took none for %.1f s; exiting so that a fresh worker takes over",
                     ",".join(self._queues), self._stall.stall_s,
                     extra={"event": "consumer_stalled"})
        try:
            leave(self._client, self._queues, consumer.hostname)
        finally:
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(EXIT_STALLED)
