"""Which broker, result backend and mode a process uses.

Resolution order: an explicit CONVEYOR_BROKER_URL, else the local stack of this home
(its state file under CONVEYOR_HOME, alive or being restarted), else the embedded mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from config.env import ConfigError
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
    def is_amqp(self) -> bool:
        return is_amqp_url(self.broker_url)

    @property
    def is_redis(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://", "unix://"))


def is_amqp_url(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


def default_result_backend(broker_url: str) -> str:
    """The result backend when only the broker is set: Redis keeps results in the
    broker's own Redis; RabbitMQ has no result store of its own, so results travel back
    to the waiting client as messages (Celery's rpc backend). The jobs table holds every
    outcome anyway, for clients that were not listening."""
    return "rpc://" if is_amqp_url(broker_url) else broker_url


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


def configured_stack_connection(settings: Settings) -> Connection | None:
    """The connection of the local stack this home has, whether its Redis answers now
    or not: once `conveyor up` ran, CLIs use the stack (and fail clearly, or wait, while
    its supervisor restarts Redis) until `conveyor down`; they never fall back to the
    embedded mode behind the operator's back."""
    path = stack_state_file(settings)
    if not path.exists():
        return None
    state = read_stack_state(settings)
    broker = state.get("broker_url") if state else None
    backend = state.get("result_backend") if state else None
    if not isinstance(broker, str) or not isinstance(backend, str):
        raise ConfigError(f"the local stack's state file {path} cannot be read; "
                          "`conveyor down` removes it, `conveyor up` starts a new stack")
    return Connection(Mode.STACK, broker, backend)


def resolve_connection(settings: Settings) -> Connection:
    if settings.broker_url:
        if settings.broker_url.startswith("memory://"):
            return Connection(Mode.EMBEDDED, settings.broker_url,
                              settings.result_backend or EMBEDDED_BACKEND)
        backend = settings.result_backend or default_result_backend(settings.broker_url)
        return Connection(Mode.CONFIGURED, settings.broker_url, backend)
    stack = configured_stack_connection(settings)
    if stack is not None:
        return stack
    return Connection(Mode.EMBEDDED, EMBEDDED_BROKER, EMBEDDED_BACKEND)
