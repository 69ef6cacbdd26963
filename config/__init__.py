"""Configuration: settings from the environment, the Celery app, queues, beat, logging.

`app` (the Celery app) is loaded on first access, so a command that only needs the
settings does not pay for importing Celery and Redis.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "celery_app"):
        from config.celery_app import app

        return app
    raise AttributeError(name)
