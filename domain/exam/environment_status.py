"""`execution-environment status`: the stored environment, and whether it is ready now.

Read through the driver (store/exam_reads.py); a backend (and its client: the
Kubernetes one is heavy) is loaded only when a running environment must be asked.
"""

from __future__ import annotations

from typing import Any, Protocol

from config.exam import ExamSettings, get_exam_settings
from domain.exam.backends import Backend, EnvironmentSpec, backend_for
from domain.exam.errors import environment_not_found, session_not_found
from domain.exam.states import EnvironmentStatus
from store.exam_reads import load_session_and_environment


class _Session(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def user_id(self) -> str: ...


class _Environment(Protocol):
    @property
    def pod_name(self) -> str: ...
    @property
    def pod_namespace(self) -> str: ...


def spec_for(session: _Session, env: _Environment,
             settings: ExamSettings | None = None) -> EnvironmentSpec:
    return EnvironmentSpec(session_id=session.id, user_id=session.user_id,
                           pod_name=env.pod_name, namespace=env.pod_namespace,
                           settings=settings or get_exam_settings())


def environment_status(session_id: str, *, url: str | None = None,
                       backend: Backend | None = None) -> dict[str, Any]:
    """The stored status; `ready` is checked live (the pod's Ready condition, the process)."""
    session, env = load_session_and_environment(session_id, url=url)
    if session is None:
        raise session_not_found(session_id)
    if env is None:
        raise environment_not_found(session_id)
    ready = False
    if env.status == EnvironmentStatus.RUNNING:
        chosen = backend or backend_for(env.backend)
        ready = chosen.is_ready(spec_for(session, env), env.handle)
    return {"environment_id": env.id, "session_id": env.session_id, "pod_name": env.pod_name,
            "pod_namespace": env.pod_namespace, "status": env.status, "ready": ready}
