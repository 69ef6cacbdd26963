"""What the sender and the receiver share: time, leases, retries, the test-only pause."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.logs import log_event
from domain.oord.sources import source_fingerprint
from store import oord as state

logger = logging.getLogger("conveyor.oord.agent")

# A published job should reach a worker within this; until then no scan republishes it.
DISPATCH_WINDOW_MS = 30_000
PAUSE_TIMEOUT_S = 120.0


def now_ms() -> int:
    return int(time.time() * 1000)


class LeaseLost(Exception):
    """Another worker took over this attempt's row (our lease had expired)."""


@dataclass
class Lease:
    """Keeps an attempt's claim alive: renewed from progress callbacks, a third of a lease apart."""

    role: str
    key: str
    token: str
    lease_ms: int
    _next_renew: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._next_renew = time.monotonic() + self.lease_ms / 3000

    def tick(self) -> None:
        if time.monotonic() < self._next_renew:
            return
        if not state.renew(self.role, self.key, token=self.token, now_ms=now_ms(),
                           lease_ms=self.lease_ms):
            raise LeaseLost(f"{self.role} {self.key}: the claim was taken over")
        self._next_renew = time.monotonic() + self.lease_ms / 3000


@dataclass
class PausePoint:
    """Test-only: stop at a named point until released (set only when OORD_TEST_PAUSE_DIR is).

    The crash tests kill the worker while it waits here, mid-seal or mid-extraction.
    """

    folder: Path | None
    name: str
    _done: bool = field(default=False)

    def reach(self) -> None:
        if self.folder is None or self._done:
            return
        self._done = True
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{self.name}.reached").touch()
        release = self.folder / f"{self.name}.release"
        deadline = time.monotonic() + PAUSE_TIMEOUT_S
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)


def claim_or_wait(role: str, key: str, *, token: str, worker: str, lease_ms: int,
                  attempts: int | None = None) -> dict[str, Any] | None:
    """Claim the row; a redelivered job whose own earlier delivery died waits out that lease.

    The claim token is the job id, so a row processing under our own token means the
    worker that ran this job before is gone (live workers renew their messages, so
    Celery redelivers only a dead worker's job). Its lease still runs: wait it out.

    The claimed row's ``source_fingerprint`` is the source as this attempt finds it,
    taken before the attempt reads it (so a fix made meanwhile counts as a change); it is
    stored only if the attempt gives up (``failed_values`` of schedule_retry).
    """
    row = state.claim(role, key, token=token, worker=worker, now_ms=now_ms(), lease_ms=lease_ms,
                      attempts=attempts)
    if row is None:
        current = state.get_row(role, key)
        if current is None or current["state"] != state.PROCESSING \
                or current["claim_token"] != token:
            return None
        wait_s = max(0.0, (current["lease_expires_at_ms"] or 0) - now_ms()) / 1000
        log_event(logger, "lease_wait", role=role, key=key, wait_ms=int(wait_s * 1000))
        time.sleep(min(wait_s, lease_ms / 1000) + 0.05)
        row = state.claim(role, key, token=token, worker=worker, now_ms=now_ms(),
                          lease_ms=lease_ms, attempts=attempts)
    if row is not None:
        row["source_fingerprint"] = _attempt_fingerprint(row["source_path"])
    return row


Backoff = Callable[[int], float]
"""Seconds to wait before the next attempt, given the attempts made (common/backoff.py)."""


def schedule_retry(role: str, key: str, *, token: str, attempts: int, exit_code: int,
                   error: str, backoff: Backoff, max_attempts: int | None = None,
                   failed_values: dict[str, Any] | None = None,
                   **fields: Any) -> dict[str, Any]:
    """Persist the next attempt's time and log it, or give up after the last attempt;
    return the outcome. ``failed_values``: more columns to store if the row gives up."""
    if max_attempts is not None and attempts >= max_attempts:
        return give_up(role, key, token=token, attempts=attempts, exit_code=exit_code,
                       error=error, failed_values=failed_values, **fields)
    delay_ms = int(backoff(max(attempts, 1)) * 1000)
    now = now_ms()
    next_at = now + delay_ms
    state.schedule_retry(role, key, token=token, now_ms=now, next_retry_at_ms=next_at,
                         exit_code=exit_code, error=error,
                         dispatch_until_ms=next_at + DISPATCH_WINDOW_MS)
    log_event(logger, "next_retry_in_ms", role=role, key=key, attempts=attempts,
              next_retry_in_ms=delay_ms, next_retry_at_ms=next_at, **fields)
    return {"state": state.RETRY, "attempts": attempts, "next_retry_in_ms": delay_ms,
            "next_retry_at_ms": next_at, "last_exit_code": exit_code, "last_error": error}


def give_up(role: str, key: str, *, token: str, attempts: int, exit_code: int, error: str,
            failed_values: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """End the row in `failed`: its job made its last attempt."""
    state.finish(role, key, token=token, state=state.FAILED, now_ms=now_ms(),
                 last_exit_code=exit_code, last_error=error[:4000], **(failed_values or {}))
    log_event(logger, "gave_up", level=logging.WARNING, role=role, key=key,
              attempts=attempts, exit_code=exit_code, error=error, **fields)
    return {"state": state.FAILED, "attempts": attempts, "last_exit_code": exit_code,
            "last_error": error}


def skipped(role: str, key: str) -> dict[str, Any]:
    row = state.get_row(role, key)
    log_event(logger, "attempt_skipped", level=logging.DEBUG, role=role, key=key,
              state=row["state"] if row else None)
    return {"skipped": True, "state": row["state"] if row else None}


# ---- a failed row taken again once its source changed ----------------------------------

def _attempt_fingerprint(path: str) -> str | None:
    """The source as an attempt finds it; None when it cannot be read (the attempt says why)."""
    try:
        return source_fingerprint(Path(path))
    except OSError:
        return None


def reopen_if_changed(role: str, key: str, path: Path,
                      newest_mtime_s: Callable[[Path], float]) -> bool:
    """A row that gave up, whose source changed since (fixed, or a new copy): back to
    pending for a new job. Changed means its fingerprint differs from the one the last
    attempt took; a row that gave up before fingerprints were kept compares times."""
    row = state.get_row(role, key)
    if row is None or row["state"] != state.FAILED:
        return False
    try:
        if row["source_fingerprint"]:
            changed = source_fingerprint(path) != row["source_fingerprint"]
        else:
            changed = newest_mtime_s(path) * 1000 > (row["finished_at_ms"] or 0)
    except OSError:
        return False
    return changed and state.reopen(role, key, from_state=state.FAILED, now_ms=now_ms(),
                                    last_error=None, last_exit_code=None,
                                    source_fingerprint=None)
