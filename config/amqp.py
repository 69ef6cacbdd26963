"""RabbitMQ (amqp://) as the broker: durable quorum queues, confirmed publishes.

Quorum queues are replicated and durable, and RabbitMQ redelivers a message whose
consumer's connection closed before it acknowledged it (a killed worker), so with acks
late a job comes back at once, with no visibility timeout to wait out. Celery detects
quorum queues and then uses per-consumer prefetch (quorum queues have no global QoS)
and RabbitMQ's native delayed delivery for retries with a countdown.
https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kombu.entity import Exchange, Queue

from config.env import env_choice

QUEUE_TYPES = ("quorum", "classic")


def queue_type() -> str:
    """CONVEYOR_AMQP_QUEUE_TYPE: quorum (the default; RabbitMQ 3.8 and later) or classic."""
    return env_choice("CONVEYOR_AMQP_QUEUE_TYPE", "quorum", QUEUE_TYPES)


def amqp_queues(names: Iterable[str]) -> list[Queue]:
    arguments = {"x-queue-type": queue_type()}
    return [Queue(name, Exchange(name, type="direct", durable=True), routing_key=name,
                  durable=True, queue_arguments=arguments) for name in names]


def amqp_transport_options() -> dict[str, Any]:
    # A publish returns once RabbitMQ has the message (quorum queues require it).
    return {"confirm_publish": True}


def amqp_celery_settings() -> dict[str, Any]:
    return {
        # Heartbeats let both sides notice a dead connection (a partition) in seconds;
        # RabbitMQ then requeues what the lost consumer held.
        "broker_heartbeat": 10,
        "broker_connection_timeout": 5,
    }
