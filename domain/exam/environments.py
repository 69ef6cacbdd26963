"""Execution environments: create (idempotent on the session id), destroy, status.

Create runs in a worker (tasks/environments.py) in four steps, each safe to repeat
when a job is redelivered or retried:
  1. claim: lock the session; insert the environment row (pending, with its readiness
     deadline) or adopt the existing one; created -> initializing;
  2. start: the backend creates the pod/process, or adopts the one a previous
     delivery made (409); the row becomes `creating` with the backend's handle;
  3. wait: until ready, a fatal status, or the deadline stored in the row (so a
     retry does not extend the time the caller was promised);
  4. settle: ready -> environment running, session ready; otherwise the pod is
     deleted, the environment marked error, the session failed, and
     ENVIRONMENT_CREATE_FAILED (exit 1) carries the reason.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.clock import iso_z, utc_now
from common.errors import ContractError, TransientError
from config.exam import get_exam_settings
from domain.exam.backends import Backend, EnvironmentSpec, Outcome, backend_for
from domain.exam.backends.base import long_pod_name_for, pod_name_for
from domain.exam.environment_status import environment_status, spec_for
from domain.exam.errors import (
    ENVIRONMENT_CREATE_FAILED,
    ENVIRONMENT_DESTROY_FAILED,
    create_failed,
    destroy_failed,
    environment_not_found,
    invalid_state,
    session_not_found,
)
from domain.exam.sessions import apply_transition, lock_session
from domain.exam.states import (
    LIVE_ENVIRONMENT,
    REPLACEABLE_ENVIRONMENT,
    TERMINAL_STATES,
    EnvironmentStatus,
    SessionState,
)
from store.engine import session_scope, write_session
from store.models.exam import ExamEnvironment, ExamSession

logger = logging.getLogger(__name__)


def _iso(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def create_json(env: ExamEnvironment) -> dict[str, Any]:
    return {"environment_id": env.id, "session_id": env.session_id, "pod_name": env.pod_name,
            "pod_namespace": env.pod_namespace, "status": env.status,
            "created_at": iso_z(env.created_at), "ready_at": _iso(env.ready_at)}


def _lock_environment(db: Session, session_id: str) -> ExamEnvironment | None:
    return db.scalars(select(ExamEnvironment).where(ExamEnvironment.session_id == session_id)
                      .with_for_update()).first()


# ---- create -----------------------------------------------------------------------------

def _free_pod_name(db: Session, session_id: str, namespace: str) -> str:
    """The contract's short name, unless another session's environment ever held it.

    Session ids may share their first 8 hex; an environment is never shared, so the
    second session gets the longer name (the unique index on namespace and name makes
    two sessions racing for one short name end with one of them retrying, below).
    """
    short = pod_name_for(session_id)
    holder = db.scalars(select(ExamEnvironment.session_id).where(
        ExamEnvironment.pod_namespace == namespace, ExamEnvironment.pod_name == short,
        ExamEnvironment.session_id != session_id)).first()
    return short if holder is None else long_pod_name_for(session_id)


def claim(session_id: str, timeout_s: float, *, now: datetime | None = None,
          url: str | None = None) -> tuple[ExamSession, ExamEnvironment, bool]:
    """Step 1. Returns (session, environment, done): done when it is already running."""
    try:
        return _claim(session_id, timeout_s, now=now, url=url)
    except IntegrityError:
        # Another session took the same short pod name in a concurrent transaction
        # (PostgreSQL; SQLite serializes writers): look again, it is now visible.
        return _claim(session_id, timeout_s, now=now, url=url)


def _claim(session_id: str, timeout_s: float, *, now: datetime | None,
           url: str | None) -> tuple[ExamSession, ExamEnvironment, bool]:
    settings = get_exam_settings()
    now = now or utc_now()
    with write_session(url) as db:
        session = lock_session(db, session_id)
        state = SessionState(session.state)
        if state in TERMINAL_STATES:
            raise invalid_state(f"Session {session_id} is {state}; it cannot get an environment",
                                {"session_id": session_id, "state": state.value})
        env = _lock_environment(db, session_id)
        if env is not None and env.status == EnvironmentStatus.RUNNING:
            return session, env, True
        if env is not None and env.status == EnvironmentStatus.TERMINATING:
            raise invalid_state(f"The environment of session {session_id} is being destroyed",
                                {"session_id": session_id, "status": env.status})
        pod_name: str | None = None
        if env is not None and env.status in REPLACEABLE_ENVIRONMENT:
            # The replacement keeps the name when it stays in the same namespace.
            pod_name = env.pod_name if env.pod_namespace == settings.namespace else None
            db.delete(env)
            db.flush()
            env = None
        if env is None:
            env = ExamEnvironment(
                id=str(uuid.uuid4()), session_id=session_id, backend=settings.backend,
                pod_name=pod_name or _free_pod_name(db, session_id, settings.namespace),
                pod_namespace=settings.namespace,
                status=EnvironmentStatus.PENDING.value, created_at=now,
                create_deadline_at=now + timedelta(seconds=timeout_s), updated_at=now)
            db.add(env)
        if state is SessionState.CREATED:
            apply_transition(session, SessionState.INITIALIZING, None, now)
        db.flush()
        return session, env, False


def record_started(env_id: str, handle: dict[str, Any], *, url: str | None = None) -> bool:
    """Step 2's bookkeeping; False if the environment stopped being ours meanwhile."""
    with write_session(url) as db:
        env = db.get(ExamEnvironment, env_id)
        if env is None or env.status not in (EnvironmentStatus.PENDING,
                                             EnvironmentStatus.CREATING):
            return False
        env.status = EnvironmentStatus.CREATING.value
        env.handle = handle
        env.updated_at = utc_now()
        return True


def settle_ready(session_id: str, env_id: str, *, url: str | None = None) -> ExamEnvironment | None:
    """Step 4 on success; None if the session ended or the environment was taken meanwhile."""
    now = utc_now()
    with write_session(url) as db:
        session = lock_session(db, session_id)
        env = _lock_environment(db, session_id)
        if env is None or env.id != env_id or SessionState(session.state) in TERMINAL_STATES:
            return None
        if env.status == EnvironmentStatus.RUNNING:
            return env  # a concurrent delivery of the same create settled it first
        if env.status != EnvironmentStatus.CREATING:
            return None
        env.status = EnvironmentStatus.RUNNING.value
        env.ready_at = now
        env.updated_at = now
        env.reason = None
        if session.state == SessionState.INITIALIZING:
            apply_transition(session, SessionState.READY, None, now)
        db.flush()
        return env


def settle_failed(session_id: str, env_id: str, reason: str, *, url: str | None = None) -> None:
    """Step 4 on failure (the backend has released the environment already)."""
    now = utc_now()
    with write_session(url) as db:
        session = lock_session(db, session_id)
        env = _lock_environment(db, session_id)
        if env is not None and env.id == env_id and env.status in LIVE_ENVIRONMENT:
            env.status = EnvironmentStatus.ERROR.value
            env.reason = reason
            env.updated_at = now
        if SessionState(session.state) not in TERMINAL_STATES:
            apply_transition(session, SessionState.FAILED, reason, now)


def failure_reason(outcome: Outcome, timeout_s: float) -> str:
    if outcome.timed_out:
        text = f"Pod creation timeout after {timeout_s:g} seconds"
        return f"{text} ({outcome.reason})" if outcome.reason else text
    return outcome.reason or "the environment failed to start"


def create_environment(session_id: str, timeout_s: float, *, url: str | None = None,
                       backend: Backend | None = None) -> dict[str, Any]:
    """The whole create (steps 1-4); ContractError on a definitive failure.

    TransientError (Kubernetes API unavailable) propagates for the job to retry; see
    fail_after_retries for what happens once retries run out.
    """
    session, env, done = claim(session_id, timeout_s, url=url)
    if done:
        return create_json(env)
    chosen = backend or backend_for(env.backend)
    spec = spec_for(session, env)
    try:
        handle = chosen.start(spec, env.handle)
        if not record_started(env.id, handle, url=url):
            chosen.delete(spec, handle)
            raise create_failed(session_id, "the environment was destroyed while being created")
        remaining = (env.create_deadline_at - utc_now()).total_seconds()
        outcome = chosen.wait_ready(spec, handle, remaining)
    except ContractError as err:
        if err.code != ENVIRONMENT_CREATE_FAILED:
            err = create_failed(session_id, str(err.details.get("reason") or err.message))
        _give_up(chosen, spec, env, err)
        raise err from None
    if outcome.ready:
        settled = settle_ready(session_id, env.id, url=url)
        if settled is None:
            chosen.delete(spec, handle)
            raise create_failed(session_id, "the session ended while its environment was "
                                            "being created")
        return create_json(settled)
    error = create_failed(session_id, failure_reason(outcome, timeout_s))
    _give_up(chosen, spec, env, error)
    raise error


def _give_up(backend: Backend, spec: EnvironmentSpec, env: ExamEnvironment,
             error: ContractError) -> None:
    """Release whatever exists, then record the failure on the environment and session.

    If the release fails too, the create's own error stands: the environment is marked
    `error` and the sweep releases it once the session has ended (it is failed here).
    """
    try:
        backend.delete(spec, env.handle)
    except Exception:
        logger.warning("could not release the failed environment of session %s",
                       spec.session_id, exc_info=True)
    settle_failed(spec.session_id, env.id, str(error.details.get("reason")))


def fail_after_retries(session_id: str, error: ContractError, *, url: str | None = None,
                       backend: Backend | None = None) -> None:
    """Retries ran out (the API stayed unavailable): release what we can, record failure."""
    with session_scope(url) as db:
        session = db.get(ExamSession, session_id)
        env = db.scalars(select(ExamEnvironment)
                         .where(ExamEnvironment.session_id == session_id)).first()
    if session is None or env is None:
        return
    chosen = backend or backend_for(env.backend)
    # The API is likely still down: record the failure now; the sweep releases the
    # environment of the failed session later (it retries `error` environments).
    with contextlib.suppress(Exception):
        chosen.delete(spec_for(session, env), env.handle)
    settle_failed(session_id, env.id, str(error.details.get("reason") or error.message), url=url)


# ---- destroy ----------------------------------------------------------------------------

def destroy_environment(session_id: str, *, url: str | None = None,
                        backend: Backend | None = None) -> dict[str, Any]:
    """Release the environment; idempotent (destroying a destroyed one answers the same)."""
    now = utc_now()
    with write_session(url) as db:
        session = db.get(ExamSession, session_id)
        if session is None:
            raise session_not_found(session_id)
        env = _lock_environment(db, session_id)
        if env is None:
            raise environment_not_found(session_id)
        if env.status != EnvironmentStatus.DESTROYED:
            env.status = EnvironmentStatus.TERMINATING.value
            env.updated_at = now
        db.flush()
    if env.status == EnvironmentStatus.DESTROYED:
        return destroy_json(env)
    chosen = backend or backend_for(env.backend)
    _release(chosen, spec_for(session, env), env.handle)
    with write_session(url) as db:
        fresh = db.get(ExamEnvironment, env.id)
        assert fresh is not None
        if fresh.status != EnvironmentStatus.DESTROYED:
            fresh.status = EnvironmentStatus.DESTROYED.value
            fresh.destroyed_at = utc_now()
            fresh.updated_at = fresh.destroyed_at
        db.flush()
        return destroy_json(fresh)


def _release(backend: Backend, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> None:
    """backend.delete, its failures in destroy's terms: ENVIRONMENT_DESTROY_FAILED (exit 1),
    now or (API unavailable: retried first) once the job's retries run out."""
    try:
        backend.delete(spec, handle)
    except TransientError as exc:
        raise TransientError(exc.message, destroy_failed(spec.session_id, exc.message[:500])
                             ) from exc
    except ContractError as err:
        if err.code == ENVIRONMENT_DESTROY_FAILED:
            raise
        reason = str(err.details.get("reason") or err.message)
        raise destroy_failed(spec.session_id, reason) from None


def destroy_json(env: ExamEnvironment) -> dict[str, Any]:
    return {"environment_id": env.id, "session_id": env.session_id,
            "destroyed_at": _iso(env.destroyed_at)}


__all__ = ["claim", "create_environment", "destroy_environment", "environment_status",
           "fail_after_retries", "record_started", "settle_failed", "settle_ready", "spec_for"]
