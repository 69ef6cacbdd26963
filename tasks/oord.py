"""The oord agent's jobs (queue `oord`): beat-driven scans, one job per batch and per bundle.

A scan records what it finds and publishes one job for each new row (stamping the
row with the job's id). That job is the whole life of the batch or bundle: an attempt
that fails with an environment error persists its retry in the oord row and raises
AttemptFailed, so the job layer marks the job `retrying` (attempts, next_retry_at,
last_error, last_exit_code) and redelivers the same job after the contract's backoff;
after OORD_AGENT_MAX_ATTEMPTS attempts the job is `failed`. Lost messages come back
through the job layer's reconciliation (workers/reconcile.py), a dead worker's through
its expired lease. The scans record a job row only when they found work
(workers/quiet_task.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from celery import shared_task, signals

from common.backoff import BackoffPolicy
from common.errors import ContractError, TransientError
from config.logs import log_event
from config.oord import OordSettings, get_oord_settings
from config.queues import OORD
from domain.oord.agent import receiver, sender
from domain.oord.agent.common import DISPATCH_WINDOW_MS, now_ms
from domain.oord.errors import EXIT_ENV
from store import jobs
from store import oord as state
from workers.base_task import PersistedTask
from workers.quiet_task import QuietPeriodicTask

logger = logging.getLogger("conveyor.oord.agent")

CLEANUP_EVERY_S = 30.0
_last_cleanup: dict[str, float] = {}
_agent_running: list[bool] = []  # set once this worker started consuming the oord queue


class AttemptFailed(TransientError):
    """An attempt failed with an environment error; the row holds its retry time."""

    def __init__(self, message: str, exhausted: ContractError | None = None,
                 retry_in_s: float | None = None) -> None:
        super().__init__(message, exhausted)
        self.retry_in_s = retry_in_s  # workers/base_task.py uses it as the countdown


class AgentJob(PersistedTask):
    """The agent's per-batch and per-bundle jobs: the attempt budget comes from the settings
    (OORD_AGENT_MAX_ATTEMPTS), and each retry's delay from the attempt (AttemptFailed)."""

    abstract = True

    @property
    def max_attempts(self) -> int:  # type: ignore[override]
        return get_oord_settings().agent_max_attempts


def _token(task: PersistedTask) -> str:
    # The job id: every attempt of the job (and a redelivered message) holds the claim.
    return str(task.request.id or uuid.uuid4())


def _attempt(task: PersistedTask) -> int | None:
    return getattr(task.request, "conveyor_attempts", None)


def _dispatch_new(role: str, task: Any, argument: str) -> list[str]:
    """Publish one job for each row that needs one (stamped with its id first)."""
    now = now_ms()
    published = []
    for key, stamped in state.dispatchable_keys(role, now_ms=now):
        if stamped is not None and jobs.get_job(stamped) is not None:
            continue  # its job exists: the job layer delivers (or redelivers) it
        job_id = str(uuid.uuid4())
        if state.mark_dispatched(role, key, job_id=job_id, now_ms=now, previous=stamped,
                                 until_ms=now + DISPATCH_WINDOW_MS):
            task.apply_async(kwargs={argument: key}, queue=OORD, task_id=job_id)
            published.append(key)
    return published


def _cleanup_due(role: str) -> bool:
    now = time.monotonic()
    if now - _last_cleanup.get(role, float("-inf")) < CLEANUP_EVERY_S:
        return False
    _last_cleanup[role] = now
    return True


def _outcome(outcome: dict[str, Any], what: str) -> dict[str, Any]:
    """The job's answer to an attempt's outcome: retry it, fail it, or succeed."""
    error = str(outcome.get("last_error") or "")
    if outcome.get("state") == state.RETRY:
        raise AttemptFailed(error, ContractError("AGENT_FAILED", error, {"what": what},
                                                 EXIT_ENV),
                            retry_in_s=outcome["next_retry_in_ms"] / 1000)
    if outcome.get("state") == state.FAILED:
        raise ContractError("AGENT_FAILED", f"gave up after {outcome['attempts']} attempts: "
                            f"{error}", {"what": what}, int(outcome["last_exit_code"]))
    if outcome.get("state") == state.QUARANTINED:
        raise ContractError("VERIFY_FAILED", error, {"what": what,
                            "quarantine_path": outcome.get("quarantine_path")}, 1)
    return outcome


def _budget() -> int:
    return get_oord_settings().agent_max_attempts


def _backoff(attempts: int) -> float:
    settings = get_oord_settings()
    return BackoffPolicy(base_s=settings.agent_backoff_base_s,
                         cap_s=settings.agent_backoff_cap_s, jitter=0.1).delay_s(attempts)


# ---- sender ----------------------------------------------------------------------------

@shared_task(name="tasks.oord.scan_outgoing", base=QuietPeriodicTask, bind=True)
def scan_outgoing(self: PersistedTask) -> dict[str, Any]:
    """Find settled batches, publish a seal job for each new one, clean the outbox."""
    settings = get_oord_settings()
    if not settings.sender_enabled:
        return {"enabled": False}
    found = sender.discover_batches(settings)
    published = _dispatch_new(state.SENDER, seal_batch, "batch_id")
    cleaned = sender.clean_outbox(settings) if _cleanup_due(state.SENDER) else []
    return {"enabled": True, "found": found, "dispatched": published, "cleaned": cleaned}


@shared_task(name="tasks.oord.seal_batch", base=AgentJob, bind=True)
def seal_batch(self: PersistedTask, batch_id: str) -> dict[str, Any]:
    """Seal one batch into the outbox: one attempt per delivery of this job."""
    outcome = sender.seal_batch(batch_id, settings=get_oord_settings(), token=_token(self),
                                worker=str(self.request.hostname or "local"),
                                backoff=_backoff, attempt=_attempt(self),
                                max_attempts=_budget())
    return _outcome(outcome, f"batch {batch_id}")


# ---- receiver --------------------------------------------------------------------------

@shared_task(name="tasks.oord.scan_incoming", base=QuietPeriodicTask, bind=True)
def scan_incoming(self: PersistedTask) -> dict[str, Any]:
    """Find settled bundles, publish a verify job for each new one, clean abandoned stages."""
    settings = get_oord_settings()
    if not settings.receiver_enabled:
        return {"enabled": False}
    found = receiver.discover_bundles(settings)
    published = _dispatch_new(state.RECEIVER, verify_bundle, "name")
    cleaned = receiver.clean_stages(settings) if _cleanup_due(state.RECEIVER) else []
    return {"enabled": True, "found": found, "dispatched": published, "cleaned": cleaned}


@shared_task(name="tasks.oord.verify_bundle", base=AgentJob, bind=True)
def verify_bundle(self: PersistedTask, name: str) -> dict[str, Any]:
    """Verify one incoming bundle (then extract, quarantine or retry): one attempt per delivery."""
    outcome = receiver.verify_incoming(name, settings=get_oord_settings(), token=_token(self),
                                       worker=str(self.request.hostname or "local"),
                                       backoff=_backoff, attempt=_attempt(self),
                                       max_attempts=_budget())
    return _outcome(outcome, f"bundle {name}")


# ---- startup and shutdown --------------------------------------------------------------

def _consumes_oord(sender_obj: Any) -> bool:
    try:
        queues = sender_obj.task_consumer.queues
    except AttributeError:
        return False
    return any(getattr(q, "name", None) == OORD for q in queues or [])


def _folders(settings: OordSettings) -> dict[str, str]:
    return {"watch_dir": str(settings.watch_dir), "outbox_dir": str(settings.outbox_dir),
            "incoming_dir": str(settings.incoming_dir),
            "verified_root": str(settings.verified_root),
            "quarantine_dir": str(settings.quarantine_dir)}


@signals.worker_ready.connect(weak=False, dispatch_uid="conveyor.oord.agent_startup")
def _agent_startup(sender: Any = None, **_: Any) -> None:
    if _consumes_oord(sender):
        settings = get_oord_settings()
        log_event(logger, "agent_startup", sender_enabled=settings.sender_enabled,
                  receiver_enabled=settings.receiver_enabled, folders=_folders(settings))
        _agent_running.append(True)


@signals.worker_shutdown.connect(weak=False, dispatch_uid="conveyor.oord.agent_shutdown")
def _agent_shutdown(sender: Any = None, **_: Any) -> None:
    if _agent_running:
        log_event(logger, "agent_shutdown", worker=str(getattr(sender, "hostname", "")))
