"""Every Celery setting of Conveyor's app, without the app itself or its hooks.

config/celery_app.py builds the app from these and installs workers/hooks.py; a
plain Celery app with the same settings (bench/queue_client.py's baseline) imports
only this module, so none of Conveyor's signal hooks run in it.
"""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

from config.beat import beat_schedule
from config.connection import Connection
from config.queues import DEFAULT, QUEUES, TASK_MODULES, route_task
from config.settings import Settings


def _broker_transport_options(settings: Settings, connection: Connection) -> dict[str, Any]:
    if connection.is_embedded:
        # The memory transport polls; its default 1 s poll would add a second to every job.
        return {"polling_interval": 0.01}
    if connection.is_amqp:
        from config.amqp import amqp_transport_options

        return amqp_transport_options()
    return {
        # Redis' default is one hour: a killed worker's job would wait that long.
        # Live workers renew the lease of every message they hold (workers/lease.py),
        # so a short timeout never redelivers a job that is running or waiting on a
        # retry countdown; it only bounds how fast a dead worker's job comes back.
        # https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
        "visibility_timeout": settings.visibility_timeout_s,
        # Scan for expired leases every interval, not every interval*10 (kombu's default).
        "unacked_restore_interval": settings.unacked_restore_interval_s,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 5,
    }


def _task_queues(connection: Connection) -> list[Queue]:
    if connection.is_amqp:
        from config.amqp import amqp_queues

        return amqp_queues(QUEUES)
    return [Queue(name, routing_key=name) for name in QUEUES]


def celery_config(settings: Settings, connection: Connection) -> dict[str, Any]:
    """Every Celery setting, in one place."""
    return {
        "broker_url": connection.broker_url,
        "result_backend": connection.result_backend,
        "broker_transport_options": _broker_transport_options(settings, connection),
        "broker_connection_retry_on_startup": True,
        # A publisher facing a dead broker fails in about a second instead of hanging.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
        },
        # JSON only: a queue message never carries pickled objects.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # At-least-once delivery: acknowledge after the task body finished, and put the
        # message back if the worker process dies under it.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message per free execution slot, so a busy worker does not hoard jobs.
        "worker_prefetch_multiplier": 1,
        # Flower needs the workers' task events. The "sent" event is left off: it
        # costs every publishing CLI an event dispatcher and a second publish.
        "worker_send_task_events": not connection.is_embedded,
        "task_send_sent_event": False,
        "result_expires": settings.result_expires_s,
        "task_default_queue": DEFAULT,
        "task_queues": _task_queues(connection),
        "task_routes": (route_task,),
        "include": list(TASK_MODULES) + list(settings.extra_task_modules),
        "beat_schedule": beat_schedule(),
        "beat_schedule_filename": str(settings.home / "stack" / "celerybeat-schedule"),
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        **_amqp_config(connection),
        "enable_utc": True,
        "timezone": "UTC",
    }


def _amqp_config(connection: Connection) -> dict[str, Any]:
    if not connection.is_amqp:
        return {}
    from config.amqp import amqp_celery_settings

    return amqp_celery_settings()
