"""Tasks that exist only for tests: flaky, blocking, failing on purpose.

Workers load them through CONVEYOR_EXTRA_TASK_MODULES=tests.support.tasks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from celery import shared_task

from common.backoff import BackoffPolicy
from common.errors import ContractError, TransientError
from workers.base_task import PersistedTask

FAST_BACKOFF = BackoffPolicy(base_s=0.05, cap_s=0.2, jitter=0.0)


@shared_task(name="tests.support.tasks.flaky", base=PersistedTask, bind=True, max_attempts=3,
             backoff=FAST_BACKOFF)
def flaky(self: PersistedTask, fail_times: int) -> dict[str, Any]:
    """Fail transiently on the first ``fail_times`` deliveries, then succeed."""
    return _fail_then_succeed(self, fail_times)


@shared_task(name="tests.support.tasks.flaky_durable", base=PersistedTask, bind=True,
             max_attempts=10, backoff=FAST_BACKOFF)
def flaky_durable(self: PersistedTask, fail_times: int) -> dict[str, Any]:
    """Like flaky, with room for the redeliveries of a drill that keeps killing workers
    (each one counts as an attempt, and three would exhaust flaky's budget)."""
    return _fail_then_succeed(self, fail_times)


@shared_task(name="tests.support.tasks.flaky_slow", base=PersistedTask, bind=True,
             max_attempts=3, backoff=BackoffPolicy(base_s=1.5, cap_s=1.5, jitter=0.0))
def flaky_slow(self: PersistedTask, fail_times: int) -> dict[str, Any]:
    """Like flaky, with a retry countdown long enough to watch the row say `retrying`."""
    return _fail_then_succeed(self, fail_times)


def _fail_then_succeed(task: PersistedTask, fail_times: int) -> dict[str, Any]:
    if task.request.retries < fail_times:
        raise TransientError(f"flaky failure {task.request.retries + 1} of {fail_times}")
    return {"ok": True, "retries": task.request.retries}


@shared_task(name="tests.support.tasks.blocking", base=PersistedTask, bind=True,
             max_attempts=3)
def blocking(self: PersistedTask, marker_dir: str, max_wait_s: float = 60.0) -> dict[str, Any]:
    """Log "started", wait until marker_dir/release exists, log "finished"."""
    folder = Path(marker_dir)
    with (folder / "log").open("a") as log:
        log.write("started\n")
    deadline = time.monotonic() + max_wait_s
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.02)
    with (folder / "log").open("a") as log:
        log.write("finished\n")
    return {"ok": True}


@shared_task(name="tests.support.tasks.refuse", base=PersistedTask, bind=True)
def refuse(self: PersistedTask, code: str, exit_code: int) -> None:
    """Answer with a contract error."""
    raise ContractError(code, "refused on purpose", {"asked": code}, exit_code)


@shared_task(name="tests.support.tasks.crash", base=PersistedTask, bind=True)
def crash(self: PersistedTask) -> None:
    """An unexpected bug in a task body."""
    raise ValueError("secret internal detail")


@shared_task(name="tests.support.tasks.effect", base=PersistedTask, bind=True, max_attempts=10)
def effect(self: PersistedTask, marker_dir: str, key: str, sleep_ms: int = 0) -> dict[str, Any]:
    """An idempotent effect keyed on a business id: the file `key` exists once it happened.

    Every execution is also logged, so a test can tell redeliveries from effects.
    """
    folder = Path(marker_dir)
    with (folder / "executions.log").open("a") as log:
        log.write(f"{key}\n")
    time.sleep(sleep_ms / 1000)
    target = folder / "effects" / key
    if not target.exists():
        tmp = target.with_suffix(f".tmp-{self.request.id}")
        tmp.write_text(self.request.id)
        tmp.replace(target)  # atomic: the effect is there whole or not at all
    return {"key": key}


@shared_task(name="tests.support.tasks.stamped", base=PersistedTask, bind=True, max_attempts=5)
def stamped(self: PersistedTask, marker_dir: str) -> dict[str, Any]:
    """Each delivery answers its own stamp, the n-th after n x 0.4 s: two deliveries of
    one job running side by side finish one after the other, with different results."""
    delivery = _claim_next_number(Path(marker_dir), "delivery")
    time.sleep(0.4 * delivery)
    return {"delivery": delivery}


def _claim_next_number(folder: Path, prefix: str) -> int:
    """1, 2, ... to concurrent callers, each number once: an exclusive create claims it."""
    number = 1
    while True:
        try:
            (folder / f"{prefix}-{number}").open("x").close()
            return number
        except FileExistsError:
            number += 1
