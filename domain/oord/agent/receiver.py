"""The receiver: verify settled bundles of the incoming folder, extract or quarantine them.

State machine of a bundle row (store/oord.py):

    (settled bundle found) -> pending -> processing -> verified      (exit 0: extracted)
                                          processing -> quarantined   (exit 1: moved away)
                                          processing -> retry -> processing ...  (exit 2)
                         processing (lease expired: worker died) -> processing

Extraction goes into verified_root/<org_id>/<batch_id>/<bundle_stem>.tmp while the
payload is checked, and is renamed to <bundle_stem> only after every check passed;
the row says `verified` only after the rename. A crash leaves at most the hidden
.tmp folder, which the next attempt (or the cleanup) removes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

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
from domain.oord.bundle import MANIFEST
from domain.oord.errors import EXIT_CONTENT, EXIT_ENV, EXIT_OK
from domain.oord.names import id_problem
from domain.oord.verify import VerifyReport, verify_bundle
from domain.oord.wiring import verify_options
from store import oord as state

logger = logging.getLogger("conveyor.oord.receiver")

STAGE_SUFFIX = ".tmp"
MAX_PEEK_BYTES = 64 << 20


# ---- discovery -------------------------------------------------------------------------

def discover_bundles(settings: OordSettings) -> list[str]:
    """Record every settled, not yet known bundle file as pending; return their names."""
    incoming = settings.incoming_dir
    incoming.mkdir(parents=True, exist_ok=True)
    known = state.known_keys(state.RECEIVER)
    cutoff = time.time() - settings.settle_seconds
    found = []
    with os.scandir(incoming) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        name = entry.name
        known_state = known.get(name)
        if known_state not in (None, state.QUARANTINED, state.FAILED) or \
                not _candidate(entry, cutoff):
            continue
        if known_state == state.FAILED:
            if reopen_if_changed(state.RECEIVER, name, Path(entry.path),
                                 lambda path: path.lstat().st_mtime):
                log_event(logger, "bundle_redelivered", bundle=name, path=entry.path)
                found.append(name)
            continue
        if known_state == state.QUARANTINED:
            # Its file was moved to quarantine; one with this name now is a new delivery.
            if state.reopen(state.RECEIVER, name, from_state=state.QUARANTINED,
                            now_ms=now_ms(), quarantine_path=None, checks=None):
                log_event(logger, "bundle_redelivered", bundle=name, path=entry.path)
                found.append(name)
            continue
        if state.record_discovered(state.RECEIVER, {"name": name, "source_path": entry.path},
                                   now_ms=now_ms()):
            log_event(logger, "bundle_ready", bundle=name, path=entry.path)
            found.append(name)
    return found


def _candidate(entry: os.DirEntry[str], cutoff: float) -> bool:
    """A visible .zip file (links are not followed) that has stopped changing."""
    if entry.name.startswith(".") or not entry.name.endswith(".zip"):
        return False
    try:
        return entry.is_file(follow_symlinks=False) and \
            entry.stat(follow_symlinks=False).st_mtime <= cutoff
    except OSError:
        return False


# ---- one attempt -----------------------------------------------------------------------

def _stem(name: str) -> str:
    return name[:-len(".zip")] if name.endswith(".zip") else name


def peek_ids(path: Path) -> tuple[str, str] | None:
    """(org_id, batch_id) from the bundle's manifest, if readable and safe as folder names."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(MANIFEST)
            if info.file_size > MAX_PEEK_BYTES:
                return None
            data = json.loads(zf.read(info))
        org_id, batch_id = data["org_id"], data["batch_id"]
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    if id_problem(org_id) or id_problem(batch_id):
        return None
    return org_id, batch_id


def verify_incoming(name: str, *, settings: OordSettings, token: str, worker: str,
                    backoff: Backoff, attempt: int | None = None,
                    max_attempts: int | None = None) -> dict[str, Any]:
    """One attempt at a bundle: verified, quarantined, retry (with its schedule), failed
    (that was attempt ``max_attempts``) or skipped."""
    lease_ms = int(settings.lease_s * 1000)
    row = claim_or_wait(state.RECEIVER, name, token=token, worker=worker, lease_ms=lease_ms,
                        attempts=attempt)
    if row is None:
        return skipped(state.RECEIVER, name)
    log_event(logger, "verify_start", bundle=name, attempts=row["attempts"])
    lease = Lease(state.RECEIVER, name, token, lease_ms)
    backoff = _Retry(backoff, max_attempts)
    try:
        return _finished_earlier(row, token) or _attempt(row, settings, token, lease, backoff)
    except LeaseLost as exc:
        log_event(logger, "lease_lost", level=logging.WARNING, bundle=name, error=str(exc))
        return {"skipped": True, "state": state.PROCESSING, "lease_lost": True}
    except OSError as exc:  # a full disk, permissions: the environment's failure (exit 2)
        return _env_error(row, token, f"{type(exc).__name__}: {exc}", backoff)
    except Exception as exc:  # a bug: retry later, never extract
        logger.error("verify crashed", exc_info=exc,
                     extra={"event": "verify_crashed", "bundle": name})
        return _env_error(row, token, f"{type(exc).__name__}: {exc}", backoff)


def _finished_earlier(row: dict[str, Any], token: str) -> dict[str, Any] | None:
    """An earlier attempt died after its rename or move: record what it did."""
    verified = row.get("verified_path")
    if verified and Path(verified).is_dir():
        return _finish(row, token, state.VERIFIED, verified_path=verified, last_exit_code=0,
                       last_error=None)
    quarantined = row.get("quarantine_path")
    if quarantined and Path(quarantined).exists() and not Path(row["source_path"]).exists():
        return _finish(row, token, state.QUARANTINED, quarantine_path=quarantined,
                       last_exit_code=EXIT_CONTENT)
    return None


def _attempt(row: dict[str, Any], settings: OordSettings, token: str, lease: Lease,
             backoff: Backoff) -> dict[str, Any]:
    bundle = Path(row["source_path"])
    ids = peek_ids(bundle)
    final = stage = None
    if ids is not None:
        final = settings.verified_root / ids[0] / ids[1] / _stem(row["name"])
        problem = _unsafe_folders(settings.verified_root, final.parent)
        if problem:  # never follow a link planted under the verified root
            return _env_error(row, token, problem, backoff)
        stage = final.with_name(final.name + STAGE_SUFFIX)
        shutil.rmtree(stage, ignore_errors=True)  # what a crashed attempt left
    pause = PausePoint(settings.test_pause_dir, "extract")

    def progress(_count: int) -> None:
        lease.tick()
        pause.reach()

    extract_to = stage if final is not None and not final.exists() else None
    report = verify_bundle(bundle, verify_options(settings, strict=settings.receiver_strict,
                                                  extract_to=extract_to, progress=progress))
    if report.exit_code == EXIT_OK:
        return _verified(row, token, report, ids, final, extract_to)
    if final is not None:  # the stage is gone: leave no empty <org>/<batch>/ behind either
        _remove_empty_parents(final.parent, settings.verified_root)
    if report.exit_code == EXIT_CONTENT:
        return _quarantine(row, settings, token, report)
    return _env_error(row, token, report.summary(), backoff, checks=report)


def _verified(row: dict[str, Any], token: str, report: VerifyReport,
              ids: tuple[str, str] | None, final: Path | None,
              stage: Path | None) -> dict[str, Any]:
    manifest = report.manifest or {}
    if ids != (manifest.get("org_id"), manifest.get("batch_id")) or final is None:
        # The file changed between the peek and the check: try again on a stable file.
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        raise RuntimeError("the bundle changed while it was being verified")
    if stage is not None:
        if not state.update_claimed(state.RECEIVER, row["name"], token=token, now_ms=now_ms(),
                                    verified_path=str(final)):
            shutil.rmtree(stage, ignore_errors=True)
            raise LeaseLost(f"bundle {row['name']}: the claim was taken over")
        os.rename(stage, final)  # atomic: the folder appears complete or not at all
        _fsync_dir(final.parent)
        log_event(logger, "bundle_extracted", bundle=row["name"], path=str(final))
    outcome = _finish(row, token, state.VERIFIED, verified_path=str(final),
                      org_id=ids[0], batch_id=ids[1], bundle_id=report.bundle_id,
                      checks=_checks(report), last_exit_code=EXIT_OK, last_error=None)
    log_event(logger, "verify_pass", bundle=row["name"], org_id=ids[0], batch_id=ids[1],
              path=str(final), attempts=row["attempts"])
    return outcome


def _quarantine(row: dict[str, Any], settings: OordSettings, token: str,
                report: VerifyReport) -> dict[str, Any]:
    source = Path(row["source_path"])
    target = _free_name(settings.quarantine_dir, row["name"])
    if not state.update_claimed(state.RECEIVER, row["name"], token=token, now_ms=now_ms(),
                                quarantine_path=str(target)):
        raise LeaseLost(f"bundle {row['name']}: the claim was taken over")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)
    _write_reason(_reason_path(target), report)
    manifest = report.manifest or {}
    log_event(logger, "verify_fail", level=logging.WARNING, bundle=row["name"],
              reason=report.summary(), quarantine_path=str(target), attempts=row["attempts"])
    return _finish(row, token, state.QUARANTINED, quarantine_path=str(target),
                   org_id=manifest.get("org_id"), batch_id=manifest.get("batch_id"),
                   checks=_checks(report), last_exit_code=EXIT_CONTENT,
                   last_error=report.summary()[:4000])


class _Retry:
    """The backoff and the attempt budget, passed along together."""

    def __init__(self, backoff: Backoff, max_attempts: int | None) -> None:
        self.backoff = backoff
        self.max_attempts = max_attempts

    def __call__(self, attempts: int) -> float:
        return self.backoff(attempts)


def _env_error(row: dict[str, Any], token: str, error: str, backoff: Backoff,
               checks: VerifyReport | None = None) -> dict[str, Any]:
    log_event(logger, "verify_env_error", level=logging.WARNING, bundle=row["name"],
              attempts=row["attempts"], error=error)
    if checks is not None:
        state.update_claimed(state.RECEIVER, row["name"], token=token, now_ms=now_ms(),
                             checks=_checks(checks))
    return schedule_retry(state.RECEIVER, row["name"], token=token, attempts=row["attempts"],
                          exit_code=EXIT_ENV, error=error, backoff=backoff,
                          max_attempts=getattr(backoff, "max_attempts", None),
                          failed_values={"source_fingerprint": row["source_fingerprint"]},
                          bundle=row["name"])


def _finish(row: dict[str, Any], token: str, final_state: str, **values: Any) -> dict[str, Any]:
    if not state.finish(state.RECEIVER, row["name"], token=token, state=final_state,
                        now_ms=now_ms(), **values):
        raise LeaseLost(f"bundle {row['name']}: the claim was taken over")
    return {"state": final_state, "bundle": row["name"], "attempts": row["attempts"],
            **{k: v for k, v in values.items() if k in ("verified_path", "quarantine_path",
                                                        "last_error")}}


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``root`` while empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (other bundles of the batch), or gone
        folder = folder.parent


def _unsafe_folders(root: Path, folder: Path) -> str | None:
    """Why root/<org_id>/<batch_id> cannot be extracted into: a link or a file on the way.

    The org and batch ids come from a bundle; a symbolic link planted at either level
    would send the extraction (and the stage cleanup) out of the verified root. What
    does not exist yet is created by the extraction itself, once the bundle verified.
    """
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            return f"{current} is a symbolic link or not a folder: nothing is extracted " \
                   "through it (remove it to let the bundle through)"
    return None


def _checks(report: VerifyReport) -> list[dict[str, Any]]:
    return [{"name": c.name, "outcome": c.outcome, "detail": c.detail} for c in report.checks]


def _free_name(folder: Path, name: str) -> Path:
    """A name free in the quarantine folder, for the bundle and its .reason.json alike
    (lexists: a dangling link is taken too; nothing is ever written through a link)."""
    target = folder / name
    counter = 1
    while os.path.lexists(target) or os.path.lexists(_reason_path(target)):
        target = folder / f"{name}.{counter}"
        counter += 1
    return target


def _reason_path(target: Path) -> Path:
    return target.with_name(target.name + ".reason.json")


def _write_reason(path: Path, report: VerifyReport) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(report.as_json(verbose=True), indent=2) + "\n")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- housekeeping ----------------------------------------------------------------------

def clean_stages(settings: OordSettings) -> list[str]:
    """Remove .tmp staging folders no live attempt is writing (left by crashed workers)."""
    root = settings.verified_root
    if not root.is_dir():
        return []
    live = state.live_claims(state.RECEIVER, now_ms=now_ms())
    removed = []
    for stage in root.glob(f"*/*/*{STAGE_SUFFIX}"):
        # glob follows links: remove nothing reached through one (it would be elsewhere).
        if any(p.is_symlink() for p in (stage, stage.parent, stage.parent.parent)) or \
                not stage.is_dir():
            continue
        if stage.name[:-len(STAGE_SUFFIX)] + ".zip" in live:
            continue
        shutil.rmtree(stage, ignore_errors=True)
        removed.append(str(stage))
        log_event(logger, "tmp_cleaned", path=str(stage))
    return removed
