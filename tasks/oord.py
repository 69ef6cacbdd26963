"""The oord agent's jobs (queue `oord`): beat-driven scans, one job per seal or verify attempt.

A scan records what it finds, then publishes one job per row that is due (new,
retry whose time came, or a dead worker's expired claim). An attempt that fails
with an environment error persists its retry time in the row and publishes its
next job with that countdown; if that message is lost (broker restart), the scan
publishes it again once the time has passed, so the schedule survives restarts.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from celery import shared_task, signals

from common.backoff import OORD_POLICY
from config.logs import log_event
from config.oord import OordSettings, get_oord_settings
from config.queues import OORD
from domain.oord.agent import receiver, sender
from domain.oord.agent.common import DISPATCH_WINDOW_MS, now_ms
from store import oord as state
from workers.base_task import PersistedTask

logger = logging.getLogger("conveyor.oord.agent")

CLEANUP_EVERY_S = 30.0
_last_cleanup: dict[str, float] = {}
_agent_running: list[bool] = []  # set once this worker started consuming the oord queue


def _token(task: PersistedTask) -> str:
    # The job id: a redelivered message of the same job recognizes its own claim.
    return str(task.request.id or uuid.uuid4())


def _dispatch_due(role: str, task: Any, argument: str) -> list[str]:
    now = now_ms()
    published = []
    for key in state.due_keys(role, now_ms=now):
        if state.mark_dispatched(role, key, now_ms=now, until_ms=now + DISPATCH_WINDOW_MS):
            task.apply_async(kwargs={argument: key}, queue=OORD)
            published.append(key)
    return published


def _cleanup_due(role: str) -> bool:
    now = time.monotonic()
    if now - _last_cleanup.get(role, float("-inf")) < CLEANUP_EVERY_S:
        return False
    _last_cleanup[role] = now
    return True


def _requeue_retry(task: Any, argument: str, key: str, outcome: dict[str, Any]) -> None:
    # Published after the row is written: if the worker dies in between, the scan
    # publishes the job once next_retry_at_ms plus the dispatch window has passed.
    if outcome.get("state") == state.RETRY:
        task.apply_async(kwargs={argument: key}, queue=OORD,
                         countdown=outcome["next_retry_in_ms"] / 1000)


# ---- sender ----------------------------------------------------------------------------

@shared_task(name="tasks.oord.scan_outgoing", base=PersistedTask, bind=True, max_attempts=1)
def scan_outgoing(self: PersistedTask) -> dict[str, Any]:
    """Find settled batches, publish a seal job for each due one, clean the outbox."""
    settings = get_oord_settings()
    if not settings.sender_enabled:
        return {"enabled": False}
    found = sender.discover_batches(settings)
    published = _dispatch_due(state.SENDER, seal_batch, "batch_id")
    cleaned = sender.clean_outbox(settings) if _cleanup_due(state.SENDER) else []
    return {"enabled": True, "found": found, "dispatched": published, "cleaned": cleaned}


@shared_task(name="tasks.oord.seal_batch", base=PersistedTask, bind=True, max_attempts=None)
def seal_batch(self: PersistedTask, batch_id: str) -> dict[str, Any]:
    """One attempt at sealing one batch into the outbox."""
    outcome = sender.seal_batch(batch_id, settings=get_oord_settings(), token=_token(self),
                                worker=str(self.request.hostname or "local"),
                                backoff=OORD_POLICY.delay_s)
    _requeue_retry(seal_batch, "batch_id", batch_id, outcome)
    return outcome


# ---- receiver --------------------------------------------------------------------------

@shared_task(name="tasks.oord.scan_incoming", base=PersistedTask, bind=True, max_attempts=1)
def scan_incoming(self: PersistedTask) -> dict[str, Any]:
    """Find settled bundles, publish a verify job for each due one, clean abandoned stages."""
    settings = get_oord_settings()
    if not settings.receiver_enabled:
        return {"enabled": False}
    found = receiver.discover_bundles(settings)
    published = _dispatch_due(state.RECEIVER, verify_bundle, "name")
    cleaned = receiver.clean_stages(settings) if _cleanup_due(state.RECEIVER) else []
    return {"enabled": True, "found": found, "dispatched": published, "cleaned": cleaned}


@shared_task(name="tasks.oord.verify_bundle", base=PersistedTask, bind=True, max_attempts=None)
def verify_bundle(self: PersistedTask, name: str) -> dict[str, Any]:
    """One attempt at verifying one incoming bundle (then extract, quarantine or retry)."""
    outcome = receiver.verify_incoming(name, settings=get_oord_settings(), token=_token(self),
                                       worker=str(self.request.hostname or "local"),
                                       backoff=OORD_POLICY.delay_s)
    _requeue_retry(verify_bundle, "name", name, outcome)
    return outcome


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
