"""Failures injected mid-move: the mandatory rollback, successful and failed, for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.synora import SAMPLE_TREE, Synora, make_tree, snapshot

FILES = len(SAMPLE_TREE)


def _history(synora: Synora, op: str) -> list[str]:
    return [row.status for row in synora.history(op)]


def test_a_failure_before_the_first_move_needs_no_rollback(synora: Synora,
                                                           package_root: Path) -> None:
    registered = synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                            extra_env=synora.faults("fail_after_files=0"))
    assert code == 4
    assert (out["status"], out["error_code"]) == ("quarantine_failed", "MOVE_FAILED")
    assert (out["mutation_boundary_reached"], out["rollback_attempted"],
            out["rollback_status"]) == (False, False, "not_needed")
    op = out["operation_id"]
    assert snapshot(package_root) == tree
    assert not (synora.home / "quarantine" / op).exists()
    assert _history(synora, op) == ["quarantine_confirmed", "quarantine_failed"]
    assert {e.outcome for e in synora.entries(op)} == {"not_moved"}
    assert synora.package("Tool.Tool") == registered


@pytest.mark.parametrize("fault", ["fail_after_files=3", "fail_after_registry"])
def test_a_failure_after_the_boundary_is_rolled_back_byte_for_byte(
        synora: Synora, package_root: Path, fault: str) -> None:
    registered = synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                            extra_env=synora.faults(fault))
    assert code == 4
    assert (out["status"], out["error_code"]) == ("quarantine_rollback_success", "MOVE_FAILED")
    assert (out["mutation_boundary_reached"], out["rollback_attempted"],
            out["rollback_status"]) == (True, True, "success")
    op = out["operation_id"]
    # every file back, same bytes and modes, empty folders too; the registry as it was
    assert snapshot(package_root) == tree
    assert not (synora.home / "quarantine" / op).exists()
    assert synora.package("Tool.Tool") == registered
    assert _history(synora, op) == ["quarantine_confirmed", "quarantine_failed",
                                    "quarantine_rollback_success"]
    outcomes = [e.outcome for e in synora.entries(op) if e.kind == "file"]
    moved = FILES if fault == "fail_after_registry" else 3
    assert sorted(outcomes) == sorted(["rolled_back"] * moved + ["not_moved"] * (FILES - moved))
    assert out["audit_rows_written"] == (len(synora.history(op)) + len(synora.entries(op))
                                         + len(synora.backups(op)))


def test_a_failed_rollback_is_reported_and_restore_finishes_it(synora: Synora,
                                                               package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                            extra_env=synora.faults("fail_after_files=4,"
                                                    "rollback_fail_after_files=1"))
    assert code == 4
    assert (out["status"], out["rollback_status"]) == ("quarantine_rollback_failed", "failed")
    assert (out["mutation_boundary_reached"], out["rollback_attempted"]) == (True, True)
    op = out["operation_id"]
    assert "synora cleanup restore --operation-id" in out["message"]
    assert _history(synora, op) == ["quarantine_confirmed", "quarantine_failed",
                                    "quarantine_rollback_failed"]
    # exactly one file stayed in quarantine, intact; the others are back
    (stuck,) = [e for e in synora.entries(op) if e.outcome == "rollback_failed"]
    assert Path(stuck.file_path).read_bytes() == SAMPLE_TREE[stuck.relative_path]
    assert not Path(stuck.original_location).exists()
    now = snapshot(package_root)
    assert {k: v for k, v in tree.items() if k != stuck.relative_path} == now
    package = synora.package("Tool.Tool")
    assert (package["status"], package["quarantine_operation_id"]) == ("rollback_failed", op)
    # the restore command finishes the job
    code, restored = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, restored["status"], restored["files"]) == (0, "restore_success", 1)
    assert snapshot(package_root) == tree
    assert synora.package("Tool.Tool")["status"] == "installed"


def test_an_unexpected_error_mid_move_exits_10_after_rolling_back(
        synora: Synora, package_root: Path, conveyor_home: Path) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    result = synora.run("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm", "--json",
                        extra_env=synora.faults("unexpected_after_files=2"))
    assert result.returncode == 10
    assert "Traceback" not in result.stdout + result.stderr
    import json

    out = json.loads(result.stdout)
    assert (out["status"], out["error_code"]) == ("quarantine_rollback_success",
                                                  "INTERNAL_ERROR")
    assert snapshot(package_root) == tree
    crash_log = conveyor_home / "logs" / "cli.log"
    assert "InjectedBug" in crash_log.read_text()
    assert str(crash_log) in out["message"]


def test_faults_are_ignored_without_the_test_switch(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                            extra_env={"SYNORA_FAULTS": "fail_after_files=0"})
    assert (code, out["status"]) == (0, "quarantine_success")


def test_forced_copy_path_moves_and_restores_identically(synora: Synora,
                                                         package_root: Path) -> None:
    """The cross-filesystem path (copy, fsync, verify, delete), forced on one filesystem."""
    os.utime(package_root / "etc" / "tool.conf", ns=(1_000_000_000, 2_000_000_000))
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    copy = synora.faults("force_copy")
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                            extra_env=copy)
    assert (code, out["status"]) == (0, "quarantine_success")
    qdir = Path(out["quarantine_path"])
    assert (qdir / "etc" / "tool.conf").stat().st_mtime_ns == 2_000_000_000
    code, restored = synora.json("cleanup", "restore", "--operation-id", out["operation_id"],
                                 extra_env=copy)
    assert (code, restored["status"]) == (0, "restore_success")
    assert snapshot(package_root) == tree
    assert (package_root / "etc" / "tool.conf").stat().st_mtime_ns == 2_000_000_000


def _other_filesystem() -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm")
    return shm


def test_a_real_cross_filesystem_move_with_rollback_and_restore(synora: Synora,
                                                                tmp_path: Path) -> None:
    """The package on tmpfs (/dev/shm), SYNORA_HOME on the test disk: rename gives EXDEV."""
    shm = _other_filesystem()
    root = make_tree(shm / f"synora-test-{os.getpid()}-{tmp_path.name}" / "tool")
    if root.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("/dev/shm is on the same filesystem as the test folder")
    try:
        synora.add("Shm.Tool", root)
        tree = snapshot(root)
        code, out = synora.json("cleanup", "quarantine", "--id", "Shm.Tool", "--confirm",
                                extra_env=synora.faults("fail_after_files=3"))
        assert (code, out["status"]) == (4, "quarantine_rollback_success")
        assert snapshot(root) == tree
        code, out = synora.json("cleanup", "quarantine", "--id", "Shm.Tool", "--confirm")
        assert (code, out["status"]) == (0, "quarantine_success")
        assert not root.exists()
        qdir = Path(out["quarantine_path"])
        assert qdir.stat().st_dev != root.parent.stat().st_dev
        assert (qdir / "lib" / "libtool.so").read_bytes() == SAMPLE_TREE["lib/libtool.so"]
        code, back = synora.json("cleanup", "restore", "--operation-id", out["operation_id"])
        assert (code, back["status"]) == (0, "restore_success")
        assert snapshot(root) == tree
    finally:
        import shutil

        shutil.rmtree(root.parent, ignore_errors=True)
