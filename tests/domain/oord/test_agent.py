"""The agent's sender and receiver, one attempt at a time, in this process (no Celery)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from config.oord import OordSettings, get_oord_settings
from domain.oord.agent import receiver, sender
from domain.oord.agent.common import now_ms
from domain.oord.bundle import parse_bundle_file_name
from store import oord as state
from tests.support.oord import SAMPLE_FILES, KeyPaths, make_tree

NO_WAIT = lambda attempts: 0.0  # noqa: E731  (retry at once: the tests drive the clock)
SLOW = lambda attempts: 60.0  # noqa: E731


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: KeyPaths) -> OordSettings:
    monkeypatch.setenv("OORD_STATE_DIR", str(tmp_path / "oord"))
    monkeypatch.setenv("OORD_SETTLE_SECONDS", "0")
    monkeypatch.setenv("OORD_LEASE_S", "30")
    for name, value in keys.env().items():
        monkeypatch.setenv(name, value)
    return get_oord_settings()


def _batch(settings: OordSettings, name: str = "invoices",
           files: dict[str, bytes] | None = None) -> str:
    make_tree(settings.watch_dir / name, files or SAMPLE_FILES)
    return f"batch-{name}"


def _seal(settings: OordSettings, batch_id: str, token: str = "job-1",
          backoff: Any = NO_WAIT) -> dict[str, Any]:
    return sender.seal_batch(batch_id, settings=settings, token=token, worker="w",
                             backoff=backoff)


def _receive(settings: OordSettings, name: str, token: str = "job-r",
             backoff: Any = NO_WAIT) -> dict[str, Any]:
    return receiver.verify_incoming(name, settings=settings, token=token, worker="w",
                                    backoff=backoff)


def _expire_lease(role: str, key: str) -> None:
    row = state.get_row(role, key)
    assert row is not None
    assert state.renew(role, key, token=row["claim_token"], now_ms=now_ms() - 60_000,
                       lease_ms=1)


# ---- sender -----------------------------------------------------------------------------

def test_only_settled_visible_folders_become_batches(settings: OordSettings,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _batch(settings, "ready")
    make_tree(settings.watch_dir / ".hidden", {"a": b"1"})
    (settings.watch_dir / "loose-file").write_bytes(b"x")
    (settings.watch_dir / "link").symlink_to(settings.watch_dir / "ready")
    assert sender.discover_batches(settings) == ["batch-ready"]
    assert sender.discover_batches(settings) == []  # known now
    monkeypatch.setenv("OORD_SETTLE_SECONDS", "3600")
    _batch(settings, "fresh")
    assert sender.discover_batches(get_oord_settings()) == []
    row = state.get_row(state.SENDER, "batch-ready")
    assert row is not None and row["state"] == "pending" and row["org_id"] == "ORG-LOCAL"


def test_a_batch_is_sealed_once_into_the_outbox(settings: OordSettings) -> None:
    batch_id = _batch(settings)
    sender.discover_batches(settings)
    outcome = _seal(settings, batch_id)
    assert outcome["state"] == "sealed"
    bundles = list(settings.outbox_dir.iterdir())
    assert [b.name for b in bundles] == [Path(outcome["bundle"]).name]
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None
    assert (row["state"], row["attempts"], row["last_exit_code"]) == ("sealed", 1, 0)
    assert parse_bundle_file_name(row["bundle_name"]) is not None
    # A second job for the same batch finds nothing to do.
    assert _seal(settings, batch_id, token="job-2")["skipped"] is True
    assert len(list(settings.outbox_dir.iterdir())) == 1


def test_an_environment_failure_schedules_a_retry_with_backoff(settings: OordSettings) -> None:
    batch_id = _batch(settings)
    sender.discover_batches(settings)
    settings.outbox_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.outbox_dir.write_text("not a folder")  # the outbox is unusable
    before = now_ms()
    outcome = _seal(settings, batch_id, backoff=SLOW)
    assert outcome["state"] == "retry" and outcome["next_retry_in_ms"] == 60_000
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None
    assert (row["state"], row["attempts"], row["last_exit_code"]) == ("retry", 1, 2)
    assert row["next_retry_at_ms"] >= before + 60_000
    assert "output folder" in row["last_error"]
    # The row is this job's: another job is turned away.
    assert _seal(settings, batch_id, token="job-2")["skipped"] is True
    # Once the environment is fixed, the job's next delivery seals it.
    settings.outbox_dir.unlink()
    # A write by someone who does not hold the claim changes nothing.
    assert not state.schedule_retry(state.SENDER, batch_id, token="none", now_ms=now_ms(),
                                    next_retry_at_ms=0, exit_code=2, error="x")
    assert state.get_row(state.SENDER, batch_id)["next_retry_at_ms"] > 0  # type: ignore[index]
    assert _seal(settings, batch_id, token="job-1")["state"] == "sealed"
    assert state.get_row(state.SENDER, batch_id)["attempts"] == 2  # type: ignore[index]


def test_the_last_attempt_gives_up_and_a_fixed_folder_is_taken_again(
        settings: OordSettings) -> None:
    batch_id = _batch(settings, "linked")
    os.symlink("/etc/hostname", settings.watch_dir / "linked" / "link")
    old = time.time() - 60
    os.utime(settings.watch_dir / "linked", (old, old))
    sender.discover_batches(settings)
    # Attempts 1 and 2 of a budget of 3 retry, the third gives up
    for attempt in (1, 2):
        outcome = sender.seal_batch(batch_id, settings=settings, token="job-1", worker="w",
                                    backoff=NO_WAIT, attempt=attempt, max_attempts=3)
        assert (outcome["state"], outcome["attempts"]) == ("retry", attempt)
    outcome = sender.seal_batch(batch_id, settings=settings, token="job-1", worker="w",
                                backoff=NO_WAIT, attempt=3, max_attempts=3)
    assert outcome["state"] == "failed" and "symbolic link" in outcome["last_error"]
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and (row["state"], row["attempts"], row["last_exit_code"]) == \
        ("failed", 3, 2)
    assert sender.discover_batches(settings) == []  # unchanged: stays failed
    # When the link is removed (the folder changes), a new job starts from attempt 1
    (settings.watch_dir / "linked" / "link").unlink()
    assert sender.discover_batches(settings) == [batch_id]
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and (row["state"], row["attempts"], row["claim_token"]) == \
        ("pending", 0, None)
    assert _seal(settings, batch_id, token="job-2")["state"] == "sealed"


def test_a_fix_is_seen_whatever_the_file_system_clock_says(settings: OordSettings) -> None:
    """Linux stamps files from a coarse clock that can lag time.time() by a tick, so a fix
    made right after the give-up may carry a time before it: the folder's content decides."""
    batch_id = _batch(settings, "linked")
    link = settings.watch_dir / "linked" / "link"
    os.symlink("/etc/hostname", link)
    old = time.time() - 60
    os.utime(settings.watch_dir / "linked", (old, old))
    sender.discover_batches(settings)
    outcome = sender.seal_batch(batch_id, settings=settings, token="job-1", worker="w",
                                backoff=NO_WAIT, attempt=1, max_attempts=1)
    assert outcome["state"] == "failed"
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and row["source_fingerprint"]
    link.unlink()
    for path in (settings.watch_dir / "linked", *(settings.watch_dir / "linked").rglob("*")):
        os.utime(path, (old, old), follow_symlinks=False)  # every time before the give-up
    assert sender.discover_batches(settings) == [batch_id]
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and (row["state"], row["source_fingerprint"]) == ("pending", None)
    assert _seal(settings, batch_id, token="job-2")["state"] == "sealed"


def test_a_failed_batch_left_alone_is_not_taken_again_after_a_touch_free_look(
        settings: OordSettings) -> None:
    batch_id = _batch(settings, "linked")
    os.symlink("/etc/hostname", settings.watch_dir / "linked" / "link")
    sender.discover_batches(settings)
    sender.seal_batch(batch_id, settings=settings, token="job-1", worker="w",
                      backoff=NO_WAIT, attempt=1, max_attempts=1)
    # Reading the folder (as the fingerprint and a look by an operator do) is no change
    assert [sender.discover_batches(settings) for _ in range(3)] == [[], [], []]
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and row["state"] == "failed"


def _force_due(batch_id: str) -> None:
    from sqlalchemy import update

    from store.engine import get_engine
    from store.models.oord import OordBatch

    with get_engine().begin() as conn:
        conn.execute(update(OordBatch).where(OordBatch.batch_id == batch_id)
                     .values(next_retry_at_ms=0))


class Crash(BaseException):
    """A worker dying at this exact point (not an exception the agent may handle)."""


def test_a_crash_after_sealing_never_yields_a_second_bundle(
        settings: OordSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    batch_id = _batch(settings)
    sender.discover_batches(settings)
    real_replace = os.replace
    calls: list[str] = []

    def dying_replace(src: Any, dst: Any) -> None:
        calls.append(str(dst))
        if str(dst).endswith(".zip"):  # the publishing rename: die right before it
            raise Crash()
        real_replace(src, dst)

    monkeypatch.setattr("domain.oord.seal.os.replace", dying_replace)
    with pytest.raises(Crash):
        _seal(settings, batch_id)
    monkeypatch.setattr("domain.oord.seal.os.replace", real_replace)
    row = state.get_row(state.SENDER, batch_id)
    assert row is not None and row["state"] == "processing" and row["bundle_name"]
    assert not list(settings.outbox_dir.glob("*.zip"))  # nothing published yet

    # When the lease expires and another job takes over, it publishes that bundle
    # instead of sealing again (seal() is not called).
    _expire_lease(state.SENDER, batch_id)
    monkeypatch.setattr("domain.oord.agent.sender.seal",
                        lambda *a, **k: pytest.fail("sealed a second time"))
    outcome = _seal(settings, batch_id, token="job-2")
    assert outcome["state"] == "sealed"
    assert [p.name for p in settings.outbox_dir.iterdir()] == [row["bundle_name"]]


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(settings: OordSettings) -> None:
    batch_id = _batch(settings)
    sender.discover_batches(settings)
    claimed = state.claim(state.SENDER, batch_id, token="dead", worker="w1", now_ms=now_ms(),
                          lease_ms=30_000)
    assert claimed is not None and claimed["attempts"] == 1
    assert _seal(settings, batch_id, token="other")["skipped"] is True
    _expire_lease(state.SENDER, batch_id)
    # (the scan publishes nothing for it: the job layer redelivers a dead worker's job)
    assert batch_id not in [k for k, _ in state.dispatchable_keys(state.SENDER,
                                                                  now_ms=now_ms())]
    outcome = _seal(settings, batch_id, token="other")
    assert outcome["state"] == "sealed" and outcome["attempts"] == 2


def test_the_outbox_cleanup_keeps_what_a_retry_needs(settings: OordSettings,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings.outbox_dir.mkdir(parents=True)
    old = time.time() - 3600
    stale_tmp = settings.outbox_dir / ".oord-abc.tmp"
    stale_partial = settings.outbox_dir / ".oord_bundle_a_b.zip.x.partial"
    for path in (stale_tmp, stale_partial):
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    fresh_tmp = settings.outbox_dir / ".oord-new.tmp"
    fresh_tmp.write_bytes(b"x")
    assert sorted(sender.clean_outbox(settings)) == sorted([stale_tmp.name, stale_partial.name])
    assert fresh_tmp.exists()


# ---- receiver ---------------------------------------------------------------------------

def _deliver(settings: OordSettings, name: str = "invoices") -> str:
    """Seal a batch with the sender and copy its bundle into the incoming folder."""
    batch_id = _batch(settings, name)
    sender.discover_batches(settings)
    bundle = Path(_seal(settings, batch_id)["bundle"])
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(bundle, settings.incoming_dir / bundle.name)
    assert bundle.name in receiver.discover_bundles(settings)
    return bundle.name


def test_a_verified_bundle_is_extracted_atomically(settings: OordSettings) -> None:
    name = _deliver(settings)
    outcome = _receive(settings, name)
    assert outcome["state"] == "verified"
    final = settings.verified_root / "ORG-LOCAL" / "batch-invoices" / name[:-4]
    assert outcome["verified_path"] == str(final)
    assert {str(p.relative_to(final)) for p in final.rglob("*") if p.is_file()} == \
        set(SAMPLE_FILES)
    assert (final / "a.txt").read_bytes() == SAMPLE_FILES["a.txt"]
    assert not list(final.parent.glob("*.tmp"))
    row = state.get_row(state.RECEIVER, name)
    assert row is not None and (row["state"], row["last_exit_code"]) == ("verified", 0)


def test_a_tampered_bundle_is_quarantined(settings: OordSettings) -> None:
    name = _deliver(settings)
    incoming = settings.incoming_dir / name
    _corrupt(incoming)
    outcome = _receive(settings, name)
    assert outcome["state"] == "quarantined"
    assert not incoming.exists()
    moved = settings.quarantine_dir / name
    assert moved.exists() and (settings.quarantine_dir / f"{name}.reason.json").exists()
    assert not settings.verified_root.exists() or not list(settings.verified_root.rglob("*.txt"))
    row = state.get_row(state.RECEIVER, name)
    assert row is not None and (row["state"], row["last_exit_code"]) == ("quarantined", 1)
    assert row["last_error"].startswith("files:")
    # No empty verified/<org>/<batch>/ is left behind by the discarded extraction
    assert not (settings.verified_root / "ORG-LOCAL").exists()


def _corrupt(bundle: Path) -> None:
    from tests.support.oord import rewrite

    tmp = bundle.with_name("tmp.zip")
    rewrite(bundle, tmp, lambda e: [(i, d + b"!" if i.filename == "files/a.txt" else d)
                                    for i, d in e])
    os.replace(tmp, bundle)
    old = time.time() - 60
    os.utime(bundle, (old, old))


def test_an_unreadable_bundle_is_retried_and_nothing_is_extracted(
        settings: OordSettings) -> None:
    settings.incoming_dir.mkdir(parents=True)
    (settings.incoming_dir / "half.zip").write_bytes(b"PK\x03\x04 still copying")
    assert receiver.discover_bundles(settings) == ["half.zip"]
    outcome = _receive(settings, "half.zip", backoff=SLOW)
    assert outcome["state"] == "retry" and outcome["last_exit_code"] == 2
    assert (settings.incoming_dir / "half.zip").exists()
    assert not settings.verified_root.exists() or not any(settings.verified_root.iterdir())


def test_a_failed_bundle_replaced_by_a_good_copy_is_taken_again(
        settings: OordSettings) -> None:
    """The copy's times are older than the give-up (a copy that keeps the sender's times,
    or the coarse file system clock): the file's fingerprint decides, not its mtime."""
    name = _deliver(settings, "late")
    good = (settings.incoming_dir / name).read_bytes()
    half = settings.incoming_dir / name
    half.write_bytes(b"PK\x03\x04 still copying")
    outcome = receiver.verify_incoming(name, settings=settings, token="job-r", worker="w",
                                       backoff=NO_WAIT, attempt=1, max_attempts=1)
    assert outcome["state"] == "failed"
    assert receiver.discover_bundles(settings) == []  # unchanged: stays failed
    copy = half.with_name("copy.part")
    copy.write_bytes(good)
    old = time.time() - 60
    os.utime(copy, (old, old))
    os.replace(copy, half)
    assert receiver.discover_bundles(settings) == [name]
    assert _receive(settings, name, token="job-r2")["state"] == "verified"


def test_a_leftover_stage_is_replaced_and_abandoned_ones_cleaned(settings: OordSettings) -> None:
    name = _deliver(settings)
    folder = settings.verified_root / "ORG-LOCAL" / "batch-invoices"
    leftover = folder / (name[:-4] + ".tmp")
    make_tree(leftover, {"partial": b"half a file"})
    assert _receive(settings, name)["state"] == "verified"
    assert not leftover.exists()
    assert not (folder / name[:-4] / "partial").exists()
    abandoned = folder / "oord_bundle_gone.tmp"
    make_tree(abandoned, {"x": b"1"})
    assert receiver.clean_stages(settings) == [str(abandoned)]


def test_a_crash_after_the_rename_is_recorded_as_verified(
        settings: OordSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _deliver(settings)

    def dying_finish(*args: Any, **kwargs: Any) -> bool:
        raise Crash()

    monkeypatch.setattr("domain.oord.agent.receiver.state.finish", dying_finish)
    with pytest.raises(Crash):
        _receive(settings, name)
    monkeypatch.undo()
    row = state.get_row(state.RECEIVER, name)
    assert row is not None and row["state"] == "processing"
    assert Path(row["verified_path"]).is_dir()
    _expire_lease(state.RECEIVER, name)
    monkeypatch.setattr("domain.oord.agent.receiver.verify_bundle",
                        lambda *a, **k: pytest.fail("verified twice"))
    assert _receive(settings, name, token="job-2")["state"] == "verified"


def test_a_quarantined_name_delivered_again_is_verified_again(settings: OordSettings) -> None:
    name = _deliver(settings)
    good = (settings.incoming_dir / name).read_bytes()
    _corrupt(settings.incoming_dir / name)
    assert _receive(settings, name)["state"] == "quarantined"
    target = settings.incoming_dir / name
    target.write_bytes(good)
    old = time.time() - 60
    os.utime(target, (old, old))
    assert receiver.discover_bundles(settings) == [name]
    assert _receive(settings, name, token="job-3")["state"] == "verified"
