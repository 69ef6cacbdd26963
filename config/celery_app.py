"""The one Celery app: `celery -A config worker` finds it as config.app."""

from __future__ import annotations

from celery import Celery

from config.celery_settings import celery_config as celery_config
from config.connection import Connection, resolve_connection
from config.settings import Settings, get_settings

_PERSISTED_REDIS_BACKEND = "workers.result_backend:PersistedRedisBackend"


def result_backend_class(result_backend: str) -> str | None:
    """Conveyor's Redis result backend (workers/result_backend.py: one round trip per job
    result, not two) in Celery's "class+url" form; None keeps Celery's own choice for any
    other URL. conf.result_backend stays the plain URL that clients and docs read."""
    if not result_backend.startswith(("redis://", "rediss://")):
        return None
    return f"{_PERSISTED_REDIS_BACKEND}+{result_backend}"


def create_app(settings: Settings | None = None, connection: Connection | None = None) -> Celery:
    """A configured Celery app; tasks are shared_tasks, so every app instance has them."""
    settings = settings or get_settings()
    connection = connection or resolve_connection(settings)
    app = Celery("conveyor", set_as_current=False)
    app.conf.update(celery_config(settings, connection))
    app.conveyor_connection = connection
    app.backend_cls = result_backend_class(connection.result_backend)
    from workers.hooks import install_hooks

    install_hooks(app)
    return app


app = create_app()
app.set_current()
app.set_default()
