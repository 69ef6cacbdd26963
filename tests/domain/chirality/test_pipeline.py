"""run_pipeline: reuse, --force, one computation per run_id, deadlines, no manifest on failure."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from common.errors import ContractError
from config.chirality import ChiralitySettings
from domain.chirality.pipeline import PipelineOutcome, PipelineRequest, run_pipeline
from domain.chirality.problem import Problem
from domain.chirality.validate import validate_run
from tests.support.chat_server import ChatServer
from tests.support.chirality import PROBLEM, fast_settings
from tests.support.tmpfs import small_tmpfs


def _request(root: Path, **overrides: Any) -> PipelineRequest:
    values: dict[str, Any] = {"run_id": "r1", "runs_root": str(root), "resolver": "echo",
                              "problem": Problem(**PROBLEM), "max_seconds": 60}
    values.update(overrides)
    return PipelineRequest(**values)


def _run(root: Path, settings: ChiralitySettings | None = None,
         **overrides: Any) -> PipelineOutcome:
    return run_pipeline(_request(root, **overrides), settings=settings or fast_settings())


def _error(root: Path, settings: ChiralitySettings | None = None,
           **overrides: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        _run(root, settings, **overrides)
    return caught.value


def test_a_run_writes_snapshots_then_a_valid_manifest(runs_root: Path) -> None:
    progress: list[str] = []
    outcome = run_pipeline(_request(runs_root), settings=fast_settings(),
                           on_progress=progress.append)
    assert outcome.as_result() | {"total_ms": 0} == {
        "run_id": "r1", "manifest": "runs/r1/index.json", "reused": False,
        "resolver_calls": 380, "resolver_attempts": 380, "resolver_retries": 0,
        "resolver_last_error": None, "total_ms": 0, "waited_for_other_job": False}
    run = runs_root / "runs" / "r1"
    assert sorted(p.name for p in run.iterdir()) == ["index.json", "snapshots"]
    manifest = json.loads((run / "index.json").read_text())
    assert manifest["problem"] == PROBLEM and manifest["run_id"] == "r1"
    assert manifest["durations"]["total_ms"] >= manifest["durations"]["compute_ms"]
    assert validate_run(run, strict=True).ok
    assert progress == [f"computing matrix {m} ({i}/6)" for i, m in enumerate("CFDXZE", 1)] \
        + ["writing snapshots"]


def test_a_run_with_a_valid_manifest_is_not_recomputed(runs_root: Path) -> None:
    _run(runs_root)
    manifest = runs_root / "runs" / "r1" / "index.json"
    before = (manifest.read_bytes(), manifest.stat().st_mtime_ns)
    again = _run(runs_root)
    assert again.reused is True and again.resolver_calls == 0
    assert (manifest.read_bytes(), manifest.stat().st_mtime_ns) == before


def test_force_recomputes_it(runs_root: Path) -> None:
    _run(runs_root)
    forced = _run(runs_root, force=True)
    assert forced.reused is False and forced.resolver_calls == 380
    assert validate_run(runs_root / "runs" / "r1").ok


def test_a_run_whose_manifest_no_longer_matches_is_recomputed(runs_root: Path) -> None:
    _run(runs_root)
    snapshot = runs_root / "runs" / "r1" / "snapshots" / "C.jsonl"
    snapshot.write_text(snapshot.read_text().replace("Direction", "Dirextion"))
    assert not validate_run(runs_root / "runs" / "r1").ok
    assert _run(runs_root).reused is False
    assert validate_run(runs_root / "runs" / "r1").ok


def test_two_concurrent_submissions_compute_once(runs_root: Path,
                                                 chat_server: ChatServer) -> None:
    chat_server.latency_s = 0.005
    settings = fast_settings(chat_server)
    outcomes: list[PipelineOutcome] = []

    def submit() -> None:
        outcomes.append(_run(runs_root, settings, resolver="openai"))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert chat_server.requests == 380  # one computation's worth of calls
    assert sorted((o.reused, o.waited_for_other_job) for o in outcomes) == [
        (False, False), (True, True)]


def test_past_the_deadline_calls_are_cancelled_and_no_manifest_is_written(
        runs_root: Path, chat_server: ChatServer) -> None:
    import openai  # noqa: F401 - imported now, so the whole time limit goes to the calls

    chat_server.latency_s = 30
    error = _error(runs_root, fast_settings(chat_server), resolver="openai", max_seconds=1.5)
    assert (error.code, error.exit_code) == ("TIMEOUT", 3)
    run = runs_root / "runs" / "r1"
    assert list(run.iterdir()) == []  # no manifest, no snapshot, no lock left behind
    assert chat_server.requests == 8  # the first wave, all cancelled


def test_a_failing_resolver_is_exit_5_and_leaves_no_manifest(runs_root: Path,
                                                             chat_server: ChatServer) -> None:
    chat_server.script([], then_status=500)
    error = _error(runs_root, fast_settings(chat_server), resolver="openai")
    assert (error.code, error.exit_code) == ("RESOLVER_ERROR", 5)
    assert not (runs_root / "runs" / "r1" / "index.json").exists()


def test_a_forced_run_that_fails_keeps_the_earlier_run(runs_root: Path,
                                                       chat_server: ChatServer) -> None:
    _run(runs_root)
    chat_server.script([], then_status=500)
    assert _error(runs_root, fast_settings(chat_server), resolver="openai",
                  force=True).exit_code == 5
    assert validate_run(runs_root / "runs" / "r1").ok  # nothing was replaced


def test_a_deadline_that_passed_in_the_queue_creates_nothing(runs_root: Path) -> None:
    error = _error(runs_root, deadline_epoch=time.time() - 1)
    assert error.exit_code == 3 and "before a worker took the job" in error.message
    assert list(runs_root.iterdir()) == []


def test_a_symlinked_run_folder_is_refused(runs_root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (runs_root / "runs").mkdir()
    os.symlink(elsewhere, runs_root / "runs" / "r1")
    error = _error(runs_root)
    assert error.exit_code == 2 and "is a symlink" in error.message
    assert list(elsewhere.iterdir()) == []


def test_the_runs_root_must_be_an_existing_absolute_folder(runs_root: Path) -> None:
    assert _error(runs_root / "missing").exit_code == 2
    assert _error(Path("relative/root")).exit_code == 2


def test_a_filesystem_failure_is_exit_4_without_a_manifest(runs_root: Path) -> None:
    (runs_root / "runs" / "r1" / "snapshots" / "C.jsonl").mkdir(parents=True)
    error = _error(runs_root)
    assert (error.code, error.exit_code) == ("IO_ERROR", 4)
    assert not (runs_root / "runs" / "r1" / "index.json").exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"run_id": "../x"}, "invalid run_id"),
    ({"resolver": "gpt"}, "unknown resolver"),
    ({"max_seconds": 0}, "max_seconds"),
    ({"concurrency": 0}, "concurrency"),
    ({"concurrency": True}, "concurrency"),
    ({"max_seconds": "60"}, "max_seconds"),
    ({"deadline_epoch": "soon"}, "deadline_epoch"),
    ({"problem": {"title": "T"}}, "statement"),
])
def test_job_arguments_are_checked_again_on_the_worker(change: dict[str, Any],
                                                       message: str) -> None:
    kwargs = {"run_id": "r1", "runs_root": "/tmp", "resolver": "echo", "problem": PROBLEM,
              "max_seconds": 10, **change}
    with pytest.raises(ContractError) as caught:
        PipelineRequest.from_job(kwargs)
    assert caught.value.exit_code == 2 and message in caught.value.message


def test_a_forced_run_on_a_full_disk_keeps_the_earlier_run(tmp_path: Path) -> None:
    # Every new file is written before the earlier run is touched: a disk that fills up
    # while they are written costs the new run only.
    with small_tmpfs(tmp_path / "disk", size_kib=2048) as disk:
        _run(disk.root)
        run = disk.root / "runs" / "r1"
        before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
        disk.fill(leave_bytes=256 * 1024)  # room for some snapshots, not all of them
        error = _error(disk.root, force=True)
        assert (error.code, error.exit_code, error.details["errno"]) == ("IO_ERROR", 4, 28)
        assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
        assert validate_run(run, strict=True).ok
