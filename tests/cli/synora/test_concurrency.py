"""Two confirms of one package at once, as real processes: one proceeds, one is refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.support.synora import SAMPLE_TREE, Synora, snapshot

SCRIPT = str(Path(sys.executable).parent / "synora")


def _start(synora: Synora, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([SCRIPT, "cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                             "--json"], env={**synora.env, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str]) -> tuple[int, dict[str, object]]:
    stdout, stderr = process.communicate(timeout=120)
    assert stdout, stderr
    return process.returncode, json.loads(stdout)


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first process never reached the pause"
        time.sleep(0.01)


def test_a_confirm_during_another_ones_move_is_refused_cleanly(synora: Synora,
                                                               package_root: Path,
                                                               tmp_path: Path) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    # Given process A holding the package mid-move (one file moved, paused)
    release = tmp_path / "release"
    first = _start(synora, synora.faults(f"pause_after_files=1,pause_file={release}"))
    try:
        _wait_for(Path(f"{release}.paused"), first)
        # When process B confirms the same package
        code, refused = _finish(_start(synora))
    finally:
        release.touch()
    # Then B is refused with exit 4 before touching anything
    assert (code, refused["error_code"], refused["status"]) == (4, "PACKAGE_BUSY",
                                                                "quarantine_failed")
    assert (refused["mutation_boundary_reached"], refused["rollback_status"]) == (
        False, "not_needed")
    loser = str(refused["operation_id"])
    assert [r.status for r in synora.history(loser)] == ["quarantine_confirmed",
                                                         "quarantine_failed"]
    assert synora.entries(loser) == [] and synora.backups(loser) == []
    assert not (synora.home / "quarantine" / loser).exists()
    # and A finishes the whole job
    code, done = _finish(first)
    assert (code, done["status"]) == (0, "quarantine_success")
    moved = snapshot(synora.home / "quarantine" / str(done["operation_id"]))
    assert {k: v for k, v in moved.items() if v[0] == "file"} == {
        k: v for k, v in tree.items() if v[0] == "file"}


def test_two_confirms_started_together(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    processes = [_start(synora), _start(synora)]
    results = sorted((_finish(p) for p in processes), key=lambda r: r[0])
    (won_code, won), (lost_code, lost) = results
    assert (won_code, won["status"]) == (0, "quarantine_success")
    # the loser either found the lock held or the package already quarantined
    assert (lost_code, lost["status"]) == (4, "quarantine_failed")
    assert lost["error_code"] in ("PACKAGE_BUSY", "PACKAGE_NOT_INSTALLED")
    assert lost["mutation_boundary_reached"] is False
    held = list((synora.home / "quarantine").iterdir())
    assert [p.name for p in held] == [won["operation_id"]]
    files = {k for k, v in snapshot(held[0]).items() if v[0] == "file"}
    assert files == set(SAMPLE_TREE) == {k for k, v in tree.items() if v[0] == "file"}
    assert synora.package("Tool.Tool")["quarantine_operation_id"] == won["operation_id"]
