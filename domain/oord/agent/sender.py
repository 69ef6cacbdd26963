"""The sender: find settled batches in the watch folder, seal each exactly once.

State machine of a batch row (store/oord.py):

    (settled folder found) -> pending -> processing -> sealed
                                          processing -> retry -> processing ...
                      processing (lease expired: worker died) -> processing

Exactly once: the manifest's created_at_ms is fixed when the batch is first seen,
Ed25519 signatures are deterministic and the built-in log returns the existing entry
for a root it has seen, so every attempt at an unchanged batch builds the same
bundle. And once a finished bundle waits under its hidden name, its name is written
to the row before it is published: an attempt that finds a name there publishes
that bundle (or finds it published) instead of sealing again.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.errors import ContractError
from config.logs import log_event
from config.oord import OordSettings
from domain.oord.agent.common import (
    Backoff,
    Lease,
    LeaseLost,
    PausePoint,
    claim_or_wait,
    now_ms,
    reopen_if_changed,
    schedule_retry,
    skipped,
)
from domain.oord.errors import EXIT_ENV
from domain.oord.names import id_problem
from domain.oord.seal import SealHooks, SealRequest, seal, staged_bundles
from domain.oord.sources import newest_mtime
from domain.oord.wiring import make_signer, tl_opener
from store import oord as state

logger = logging.getLogger("conveyor.oord.sender")

_warned: set[str] = set()


def _warn_once(key: str, event: str, **fields: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log_event(logger, event, level=logging.WARNING, **fields)


# ---- discovery -------------------------------------------------------------------------

def _settled(path: Path, settle_s: float, now_s: float) -> bool:
    try:
        return now_s - newest_mtime(path) >= settle_s
    except OSError:
        return False  # changing under us (or gone): not settled


def discover_batches(settings: OordSettings) -> list[str]:
    """Record every settled, not yet known batch folder as pending; return their ids."""
    watch = settings.watch_dir
    watch.mkdir(parents=True, exist_ok=True)
    known = state.known_keys(state.SENDER)
    found = []
    now_s = time.time()
    with os.scandir(watch) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        batch_id = _batch_id(settings, entry)
        if batch_id is None or (batch_id in known and known[batch_id] != state.FAILED):
            continue
        if not _settled(Path(entry.path), settings.settle_seconds, now_s):
            continue
        if batch_id in known:
            if reopen_if_changed(state.SENDER, batch_id, Path(entry.path),
                                 newest_mtime):
                log_event(logger, "batch_ready", batch_id=batch_id, path=entry.path,
                          again=True)
                found.append(batch_id)
            continue
        values = {"batch_id": batch_id, "name": entry.name, "source_path": entry.path,
                  "org_id": settings.org_id, "created_at_ms": now_ms()}
        if state.record_discovered(state.SENDER, values, now_ms=now_ms()):
            log_event(logger, "batch_ready", batch_id=batch_id, path=entry.path)
            found.append(batch_id)
    return found


def _batch_id(settings: OordSettings, entry: os.DirEntry[str]) -> str | None:
    if entry.name.startswith("."):
        return None
    if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
        if entry.is_symlink():
            _warn_once(entry.path, "batch_ignored", path=entry.path,
                       reason="a symbolic link, not a folder")
        return None
    batch_id = f"{settings.batch_prefix}-{entry.name}"
    problem = id_problem(batch_id)
    if problem:
        _warn_once(entry.path, "batch_ignored", path=entry.path, reason=f"batch id {problem}")
        return None
    return batch_id


# ---- one attempt -----------------------------------------------------------------------

def seal_batch(batch_id: str, *, settings: OordSettings, token: str, worker: str,
               backoff: Backoff, attempt: int | None = None,
               max_attempts: int | None = None) -> dict[str, Any]:
    """One attempt at sealing a batch: sealed, retry (with its schedule), failed (that was
    attempt ``max_attempts``) or skipped. ``attempt``: the job layer's count of this one."""
    lease_ms = int(settings.lease_s * 1000)
    row = claim_or_wait(state.SENDER, batch_id, token=token, worker=worker, lease_ms=lease_ms,
                        attempts=attempt)
    if row is None:
        return skipped(state.SENDER, batch_id)
    lease = Lease(state.SENDER, batch_id, token, lease_ms)
    log_event(logger, "seal_start", batch_id=batch_id, attempts=row["attempts"],
              path=row["source_path"])
    try:
        outcome = _published_earlier(row, settings, token) or _seal(row, settings, token, lease)
    except LeaseLost as exc:
        log_event(logger, "lease_lost", level=logging.WARNING, batch_id=batch_id, error=str(exc))
        return {"skipped": True, "state": state.PROCESSING, "lease_lost": True}
    except ContractError as err:
        return _failed(row, token, EXIT_ENV, err.message, backoff, max_attempts)
    except Exception as exc:  # a bug or an unexpected failure: logged with its traceback
        logger.error("seal crashed", exc_info=exc,
                     extra={"event": "seal_crashed", "batch_id": batch_id})
        return _failed(row, token, EXIT_ENV, f"{type(exc).__name__}: {exc}", backoff,
                       max_attempts)
    return outcome


def _published_earlier(row: dict[str, Any], settings: OordSettings,
                       token: str) -> dict[str, Any] | None:
    """An earlier attempt finished the bundle and recorded its name: publish it, mark sealed."""
    name = row["bundle_name"]
    if not name:
        return None
    outbox = settings.outbox_dir
    final = outbox / name
    staged = staged_bundles(outbox, name)
    if staged and not final.exists():
        os.replace(staged[0], final)
    for leftover in staged_bundles(outbox, name):  # identical copies of a raced attempt
        leftover.unlink(missing_ok=True)
    log_event(logger, "seal_already_done", batch_id=row["batch_id"], bundle=name)
    return _sealed(row, token, final, name)


def _seal(row: dict[str, Any], settings: OordSettings, token: str,
          lease: Lease) -> dict[str, Any]:
    pause = PausePoint(settings.test_pause_dir, "seal")

    def progress(_done: int) -> None:
        lease.tick()
        pause.reach()

    def record_intent(name: str) -> None:
        if not state.update_claimed(state.SENDER, row["batch_id"], token=token,
                                    now_ms=now_ms(), bundle_name=name):
            raise LeaseLost(f"batch {row['batch_id']}: the claim was taken over")

    request = SealRequest(input_dir=Path(row["source_path"]), out_dir=settings.outbox_dir,
                          org_id=row["org_id"], batch_id=row["batch_id"],
                          tl_mode=settings.tl_mode, created_at_ms=row["created_at_ms"])
    result = seal(request, signer=make_signer(settings),
                  open_tl=tl_opener(settings) if settings.tl_mode != "none" else None,
                  hooks=SealHooks(progress=progress, before_publish=record_intent))
    return _sealed(row, token, result.bundle_path, result.bundle_path.name,
                   bundle_id=result.bundle_id, merkle_root=result.merkle_root,
                   files=result.files, bytes=result.bytes)


def _sealed(row: dict[str, Any], token: str, path: Path, name: str,
            **fields: Any) -> dict[str, Any]:
    from domain.oord.bundle import parse_bundle_file_name

    parsed = parse_bundle_file_name(name)
    bundle_id = fields.get("bundle_id") or (parsed[1] if parsed else None)
    if not state.finish(state.SENDER, row["batch_id"], token=token, state=state.SEALED,
                        now_ms=now_ms(), bundle_name=name, bundle_id=bundle_id,
                        merkle_root=fields.get("merkle_root") or row.get("merkle_root"),
                        last_exit_code=0, last_error=None):
        raise LeaseLost(f"batch {row['batch_id']}: the claim was taken over")
    log_event(logger, "seal_success", batch_id=row["batch_id"], bundle=str(path),
              bundle_id=bundle_id, attempts=row["attempts"],
              **{k: v for k, v in fields.items() if k != "bundle_id"})
    return {"state": state.SEALED, "batch_id": row["batch_id"], "bundle": str(path),
            "bundle_id": bundle_id, "attempts": row["attempts"]}


def _failed(row: dict[str, Any], token: str, exit_code: int, error: str,
            backoff: Callable[[int], float], max_attempts: int | None) -> dict[str, Any]:
    log_event(logger, "seal_failed", level=logging.WARNING, batch_id=row["batch_id"],
              attempts=row["attempts"], exit_code=exit_code, error=error)
    return schedule_retry(state.SENDER, row["batch_id"], token=token, attempts=row["attempts"],
                          exit_code=exit_code, error=error, backoff=backoff,
                          max_attempts=max_attempts, batch_id=row["batch_id"],
                          failed_values={"source_fingerprint": row["source_fingerprint"]})


# ---- housekeeping ----------------------------------------------------------------------

def clean_outbox(settings: OordSettings) -> list[str]:
    """Remove what crashed attempts left in the outbox: half-written and unclaimed bundles.

    A hidden finished bundle whose name an unfinished batch row holds is kept: the
    next attempt publishes it.
    """
    outbox = settings.outbox_dir
    if not outbox.is_dir():
        return []
    keep = {row["bundle_name"] for row in state.list_rows(
        state.SENDER, states=(state.PROCESSING, state.RETRY, state.PENDING))
        if row["bundle_name"]}
    cutoff = time.time() - settings.lease_s
    removed = []
    for path in outbox.iterdir():
        name = path.name
        leftover = (name.startswith(".oord-") and name.endswith(".tmp")) or (
            name.startswith(".") and name.endswith(".partial")
            and name[1:].split(".zip.", 1)[0] + ".zip" not in keep)
        if leftover and _older_than(path, cutoff):
            path.unlink(missing_ok=True)
            removed.append(name)
            log_event(logger, "tmp_cleaned", path=str(path))
    return removed


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except OSError:
        return False
