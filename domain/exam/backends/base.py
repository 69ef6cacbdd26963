"""What every backend does, and the values they exchange with the environment service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from config.exam import ExamSettings

POD_PREFIX = "exam-"


def pod_name_for(session_id: str) -> str:
    """exam-<first 8 hex of the session id>: the contract's name."""
    return POD_PREFIX + session_id.replace("-", "")[:8].lower()


def long_pod_name_for(session_id: str) -> str:
    """exam-<all 32 hex>: the name of a session whose short name another session holds
    (unique because the session id is; 37 characters, within a DNS label's 63)."""
    return POD_PREFIX + session_id.replace("-", "").lower()


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    session_id: str
    user_id: str
    pod_name: str
    namespace: str
    settings: ExamSettings


@dataclass(frozen=True)
class Outcome:
    """How waiting for an environment ended: ready, failed (with the reason) or timed out."""

    ready: bool
    reason: str | None = None
    timed_out: bool = False


class Backend(Protocol):
    name: str

    def start(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> dict[str, Any]:
        """Create the environment, or adopt the one an earlier delivery made; its handle."""
        ...

    def wait_ready(self, spec: EnvironmentSpec, handle: dict[str, Any],
                   timeout_s: float) -> Outcome:
        """Until the environment is ready, fails for good, or timeout_s pass."""
        ...

    def delete(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> None:
        """Release everything the environment holds; nothing there is not an error."""
        ...

    def is_ready(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> bool:
        """Whether the environment serves now (live, not from the store)."""
        ...
