"""A process killed mid-move (SIGKILL): the next operation on the package rolls it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.synora import SAMPLE_TREE, Synora, snapshot

SCRIPT = str(Path(sys.executable).parent / "synora")


def _kill_mid_move(synora: Synora, args: list[str], release: Path) -> None:
    """Run a synora command that pauses after 3 files have moved, then SIGKILL it."""
    process = subprocess.Popen([SCRIPT, *args, "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={
                                   **synora.env, **synora.faults(
                                       f"pause_after_files=3,pause_file={release}")})
    deadline = time.monotonic() + 60
    while not Path(f"{release}.paused").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def test_a_killed_quarantine_is_rolled_back_by_the_next_one(synora: Synora,
                                                            package_root: Path,
                                                            tmp_path: Path) -> None:
    registered = synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    _kill_mid_move(synora, ["cleanup", "quarantine", "--id", "Tool.Tool", "--confirm"],
                   tmp_path / "release")
    (killed,) = [row.operation_id for row in synora.history()
                 if row.status == "quarantine_confirmed"]
    assert len(list((synora.home / "quarantine" / killed).rglob("*.*"))) >= 1
    # a dry run does not take the lock and changes nothing
    assert synora.json("cleanup", "quarantine", "--id", "Tool.Tool")[0] == 0
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert (code, out["status"]) == (0, "quarantine_success"), out
    assert out["recovered_operations"] == [killed]
    assert killed in out["message"]
    assert [r.status for r in synora.history(killed)] == [
        "quarantine_confirmed", "quarantine_failed", "quarantine_rollback_success"]
    assert synora.history(killed)[1].details == {"error_code": "INTERRUPTED", "files_moved": 3}
    assert not (synora.home / "quarantine" / killed).exists()
    moved = snapshot(Path(out["quarantine_path"]))
    assert {k for k, v in moved.items() if v[0] == "file"} == set(SAMPLE_TREE)
    code, back = synora.json("cleanup", "restore", "--operation-id", out["operation_id"])
    assert (code, back["status"]) == (0, "restore_success")
    assert snapshot(package_root) == tree
    assert synora.package("Tool.Tool")["status"] == registered["status"]


def test_a_killed_restore_is_rolled_back_by_the_next_restore(synora: Synora,
                                                             package_root: Path,
                                                             tmp_path: Path) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert code == 0
    op = out["operation_id"]
    _kill_mid_move(synora, ["cleanup", "restore", "--operation-id", op], tmp_path / "release")
    code, restored = synora.json("cleanup", "restore", "--operation-id", op)
    assert (code, restored["status"]) == (0, "restore_success"), restored
    (killed,) = restored["recovered_operations"]
    assert [r.status for r in synora.history(killed)] == [
        "restore_confirmed", "restore_failed", "restore_rollback_success"]
    assert snapshot(package_root) == tree
    assert json.loads(synora.backups(killed)[0].backup_blob)["status"] == "quarantined"
