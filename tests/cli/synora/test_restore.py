"""`synora cleanup restore`: files back byte for byte, never over anything, or not at all."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.synora import SAMPLE_TREE, Synora, snapshot


def _quarantined(synora: Synora, package_root: Path) -> tuple[dict[str, object], str]:
    registered = synora.add("Tool.Tool", package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert code == 0, out
    return registered, str(out["operation_id"])


def test_restore_brings_every_file_and_folder_back(synora: Synora, package_root: Path) -> None:
    tree = snapshot(package_root)
    registered, op = _quarantined(synora, package_root)
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert code == 0, out
    assert (out["status"], out["rollback_status"], out["quarantine_operation_id"],
            out["package_id"], out["files"]) == ("restore_success", "not_needed", op,
                                                 "Tool.Tool", len(SAMPLE_TREE))
    assert out["operation_id"] != op and uuid.UUID(out["operation_id"]).version == 4
    assert snapshot(package_root) == tree  # bytes, modes, empty folders
    assert not (synora.home / "quarantine" / op).exists()
    package = synora.package("Tool.Tool")
    assert (package["status"], package["quarantine_operation_id"]) == ("installed", None)
    assert {key: package[key] for key in ("name", "version", "install_path", "risk_level")} == {
        key: registered[key] for key in ("name", "version", "install_path", "risk_level")}
    assert [r.status for r in synora.history(out["operation_id"])] == [
        "restore_confirmed", "restore_success"]
    assert {e.outcome for e in synora.entries(op) if e.kind == "file"} == {"restored"}
    (backup,) = synora.backups(out["operation_id"])
    assert json.loads(backup.backup_blob)["status"] == "quarantined"
    # and the package can go round again
    code, again = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert (code, again["status"]) == (0, "quarantine_success")


def test_restore_text_mode(synora: Synora, package_root: Path) -> None:
    _, op = _quarantined(synora, package_root)
    result = synora.run("cleanup", "restore", "--operation-id", op, "--verbose")
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert (fields["status"], fields["rollback_status"]) == ("restore_success", "not_needed")
    assert fields["audit_rows_written"] == "3"


def test_restoring_twice_is_refused(synora: Synora, package_root: Path) -> None:
    _, op = _quarantined(synora, package_root)
    assert synora.json("cleanup", "restore", "--operation-id", op)[0] == 0
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, out["error_code"], out["status"]) == (4, "NOT_RESTORABLE", "restore_failed")


def test_unknown_and_malformed_operation_ids(synora: Synora) -> None:
    code, out = synora.json("cleanup", "restore", "--operation-id", str(uuid.uuid4()))
    assert (code, out["error_code"], out["package_id"]) == (4, "OPERATION_NOT_FOUND", None)
    result = synora.run("cleanup", "restore", "--operation-id", "../../etc", "--json")
    assert result.returncode == 2
    assert json.loads(result.stderr)["code"] == "INVALID_OPERATION_ID"
    assert synora.run("cleanup", "restore", "--json").returncode == 2


def test_restore_never_overwrites_and_moves_nothing_on_conflict(synora: Synora,
                                                                package_root: Path) -> None:
    _, op = _quarantined(synora, package_root)
    qdir = synora.home / "quarantine" / op
    held = snapshot(qdir)
    (package_root / "etc").mkdir(parents=True)
    (package_root / "etc" / "tool.conf").write_bytes(b"a new config\n")
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, out["error_code"], out["mutation_boundary_reached"]) == (
        4, "RESTORE_CONFLICT", False)
    assert (package_root / "etc" / "tool.conf").read_bytes() == b"a new config\n"
    assert snapshot(qdir) == held
    assert synora.package("Tool.Tool")["status"] == "quarantined"


def test_a_file_changed_in_quarantine_blocks_the_restore(synora: Synora,
                                                         package_root: Path) -> None:
    _, op = _quarantined(synora, package_root)
    qdir = synora.home / "quarantine" / op
    (qdir / "bin" / "tool").write_bytes(b"tampered\n")
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, out["error_code"]) == (4, "INTEGRITY_MISMATCH")
    assert not package_root.exists()


@pytest.mark.parametrize("fault", ["fail_after_files=2", "fail_after_registry"])
def test_a_failed_restore_rolls_back_into_quarantine(synora: Synora, package_root: Path,
                                                     fault: str) -> None:
    tree = snapshot(package_root)
    _, op = _quarantined(synora, package_root)
    qdir = synora.home / "quarantine" / op
    held = snapshot(qdir)
    code, out = synora.json("cleanup", "restore", "--operation-id", op,
                            extra_env=synora.faults(fault))
    assert code == 4
    assert (out["status"], out["rollback_status"], out["rollback_attempted"]) == (
        "restore_rollback_success", "success", True)
    assert snapshot(qdir) == held
    assert not package_root.exists()
    package = synora.package("Tool.Tool")
    assert (package["status"], package["quarantine_operation_id"]) == ("quarantined", op)
    assert [r.status for r in synora.history(out["operation_id"])] == [
        "restore_confirmed", "restore_failed", "restore_rollback_success"]
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, out["status"]) == (0, "restore_success")
    assert snapshot(package_root) == tree


def test_a_file_swapped_in_quarantine_after_its_hash_was_checked_is_not_restored(
        synora: Synora, package_root: Path, tmp_path: Path) -> None:
    """The restore's move checks the very inode whose bytes it verified: a same-bytes
    replacement slipped in between the check and the move is not carried back."""
    tree = snapshot(package_root)
    _, op = _quarantined(synora, package_root)
    qdir = synora.home / "quarantine" / op
    held = snapshot(qdir)
    release = tmp_path / "release"
    # Given a restore paused after verifying every hash, before its first move
    restore = subprocess.Popen(
        [str(Path(sys.executable).parent / "synora"), "cleanup", "restore", "--operation-id",
         op, "--json"], env={**synora.env, **synora.faults(
             f"pause_after_files=0,pause_file={release}")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{release}.paused").exists():
            assert restore.poll() is None, restore.communicate()
            assert time.monotonic() < deadline, "the restore never reached the pause"
            time.sleep(0.01)
        # When a quarantined file is swapped for another inode with the same bytes and mode
        swapped = qdir / "bin" / "tool"
        (tmp_path / "copy").write_bytes(swapped.read_bytes())
        (tmp_path / "copy").chmod(swapped.stat().st_mode)
        (tmp_path / "copy").replace(swapped)
    finally:
        release.touch()
    stdout, stderr = restore.communicate(timeout=120)
    out = json.loads(stdout)
    # Then the move stops at it and the restore rolls back into quarantine
    assert restore.returncode == 4, (stdout, stderr)
    assert (out["status"], out["rollback_status"]) == ("restore_rollback_success", "success")
    assert snapshot(qdir) == held and not package_root.exists()
    code, out = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, out["status"]) == (0, "restore_success")
    assert snapshot(package_root) == tree
