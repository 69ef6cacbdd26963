"""The pipelines task's progress reporter: the latest text reaches the job row, in order."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from common.errors import ContractError
from tasks.pipelines import ProgressReporter
from tests.support.chirality import chirality_environment  # noqa: F401 - autouse fixture


class FakeTask:
    """Records progress, with the request context that report_progress would see."""

    def __init__(self, fail: bool = False) -> None:
        self.request = SimpleNamespace(id="job-1", called_directly=False)
        self.pushed: list[dict[str, Any]] = []
        self.reported: list[str] = []
        self.fail = fail
        self.first_write = threading.Event()
        self.unblock = threading.Event()

    def push_request(self, **context: Any) -> None:
        self.pushed.append(context)

    def pop_request(self) -> None:
        self.pushed.pop()

    def report_progress(self, text: str) -> None:
        assert self.pushed == [{"id": "job-1", "called_directly": False}]
        self.first_write.set()
        self.unblock.wait(10)  # a slow database write
        if self.fail:
            raise RuntimeError("database is locked")
        self.reported.append(text)


def _reporter(task: FakeTask) -> Any:
    return ProgressReporter(task)  # type: ignore[arg-type]


def test_updates_never_wait_for_the_write_and_the_last_one_lands() -> None:
    task = FakeTask()
    with _reporter(task) as progress:
        progress.update("computing matrix C (1/6)")
        assert task.first_write.wait(10)
        for name in "FDXZE":  # while the first write is stuck, these only replace each other
            progress.update(f"computing matrix {name}")
        task.unblock.set()
    assert task.reported == ["computing matrix C (1/6)", "computing matrix E"]
    assert task.pushed == []


def test_a_failing_write_does_not_stop_the_run() -> None:
    task = FakeTask(fail=True)
    task.unblock.set()
    with _reporter(task) as progress:
        progress.update("computing matrix C (1/6)")
    assert task.reported == []


def _kwargs(root: Path) -> dict[str, Any]:
    return {"run_id": "t1", "runs_root": str(root), "resolver": "echo", "max_seconds": 60,
            "problem": {"title": "T", "statement": "S"}}


def test_the_task_runs_the_pipeline_and_returns_the_cli_result(tmp_path: Path) -> None:
    from tasks.pipelines import compute_pipeline

    result = compute_pipeline(**_kwargs(tmp_path))
    assert result["run_id"] == "t1" and result["manifest"] == "runs/t1/index.json"
    assert (result["reused"], result["resolver_calls"]) == (False, 380)
    assert (tmp_path / "runs" / "t1" / "index.json").is_file()


def test_a_bad_worker_setting_is_a_contract_answer(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.pipelines import compute_pipeline

    monkeypatch.setenv("CHIRALITY_CONCURRENCY", "many")
    with pytest.raises(ContractError) as caught:
        compute_pipeline(**_kwargs(tmp_path))
    assert caught.value.exit_code == 2 and "CHIRALITY_CONCURRENCY" in caught.value.message
    assert not (tmp_path / "runs").exists()
