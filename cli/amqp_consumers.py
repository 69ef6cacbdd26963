"""Whether some worker consumes a RabbitMQ queue: RabbitMQ counts a queue's consumers.

A passive queue.declare answers with the queue's message and consumer counts and
changes nothing. A consumer is a live AMQP consumer on an open connection (RabbitMQ
closes a connection whose heartbeats stop), so the count means "consuming now".
A queue no worker ever declared does not exist yet: nobody consumes it.
"""

from __future__ import annotations

import contextlib
from typing import Any


class AmqpConsumers:
    """Consumer counts of queues, over one connection kept open by the client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._connection: Any = None
        self._channel: Any = None

    def _open_channel(self) -> Any:
        if self._connection is None:
            self._connection = self.app.connection_for_read()
            self._connection.ensure_connection(max_retries=1, timeout=3)
        if self._channel is None:
            self._channel = self._connection.channel()
        return self._channel

    def count(self, queue: str) -> int:
        from amqp.exceptions import NotFound  # type: ignore[import-untyped]

        try:
            _, _, consumers = self._open_channel().queue_declare(queue=queue, passive=True)
        except NotFound:
            self._channel = None  # RabbitMQ closes the channel after a 404
            return 0
        except Exception:
            self.close()
            raise
        return int(consumers)

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # the connection is gone already
                connection.release()
