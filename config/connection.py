"""Which broker, result backend and mode a process uses.

Resolution order: an explicit CONVEYOR_BROKER_URL, else a running local stack
(found through its state file under CONVEYOR_HOME), else the embedded mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from config.processes import ProcessRef
from config.redact import redact_url
from config.settings import Settings

__all__ = ["Connection", "Mode", "redact_url", "resolve_connection"]

EMBEDDED_BROKER = "memory://localhost/"
EMBEDDED_BACKEND = "cache+memory://"


class Mode(StrEnum):
    EMBEDDED = "embedded"
    STACK = "stack"
    CONFIGURED = "configured"


@dataclass(frozen=True)
class Connection:
    mode: Mode
    broker_url: str
    result_backend: str

    @property
    def is_embedded(self) -> bool:
        return self.broker_url.startswith("memory://")

    @property
    def is_redis(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://", "unix://"))


def stack_dir(settings: Settings) -> Path:
    return settings.home / "stack"


def stack_state_file(settings: Settings) -> Path:
    return stack_dir(settings) / "stack.json"


def read_stack_state(settings: Settings) -> dict[str, object] | None:
    """The local stack's state file, or None when there is none or it cannot be read."""
    try:
        data = json.loads(stack_state_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def running_stack_connection(settings: Settings) -> Connection | None:
    """The connection of a running local stack, if its Redis is alive."""
    state = read_stack_state(settings)
    if state is None:
        return None
    processes = state.get("processes")
    redis_ref = (ProcessRef.from_json(processes.get("redis"))
                 if isinstance(processes, dict) else None)
    broker, backend = state.get("broker_url"), state.get("result_backend")
    if redis_ref is None or not redis_ref.is_alive():
        return None
    if not isinstance(broker, str) or not isinstance(backend, str):
        return None
    return Connection(Mode.STACK, broker, backend)


def resolve_connection(settings: Settings) -> Connection:
    if settings.broker_url:
        if settings.broker_url.startswith("memory://"):
            return Connection(Mode.EMBEDDED, settings.broker_url,
                              settings.result_backend or EMBEDDED_BACKEND)
        backend = settings.result_backend or settings.broker_url
        return Connection(Mode.CONFIGURED, settings.broker_url, backend)
    stack = running_stack_connection(settings)
    if stack is not None:
        return stack
    return Connection(Mode.EMBEDDED, EMBEDDED_BROKER, EMBEDDED_BACKEND)
