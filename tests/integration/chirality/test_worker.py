"""compute-pipeline through real Redis and real `celery worker` processes."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from domain.chirality.validate import validate_run
from store import jobs
from tests.support.chat_server import ChatServer, RawAnswer
from tests.support.chirality import openai_env
from tests.support.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK = "tasks.pipelines.compute_pipeline"


@pytest.fixture
def stack_env(job_env: dict[str, str], chat_server: ChatServer) -> dict[str, str]:
    """The test stack's settings plus the resolver's, for the CLI and for the workers."""
    job_env.update(openai_env(chat_server))  # start_worker hands this same dict to workers
    return job_env


def compute(cwd: Path, env: dict[str, str], run_id: str, resolver: str, problem: Path,
            max_seconds: int = 120) -> subprocess.CompletedProcess[str]:
    return run_cli("chirality", "compute-pipeline", "--resolver", resolver, "--snapshot-jsonl",
                   "--out", f"runs/{run_id}", "--problem-file", str(problem),
                   "--max-seconds", str(max_seconds), env=env, cwd=cwd)


def command(run_id: str, resolver: str, problem: Path, max_seconds: int) -> list[str]:
    return [str(Path(sys.executable).parent / "chirality"), "compute-pipeline", "--resolver",
            resolver, "--snapshot-jsonl", "--out", f"runs/{run_id}", "--problem-file",
            str(problem), "--max-seconds", str(max_seconds)]


def error_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    error: dict[str, Any] = json.loads(line)["error"]
    return error


def pipeline_rows() -> list[dict[str, Any]]:
    return jobs.list_jobs(kind=TASK)


def wait_for_row(status: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        finished = [r for r in pipeline_rows() if r["status"] == status]
        if finished:
            return finished[0]
        time.sleep(0.05)
    raise AssertionError(f"no pipeline job reached {status}: {pipeline_rows()}")


def test_an_echo_run_on_a_worker(start_worker, stack_env: dict[str, str], runs_root: Path,
                                 problem_file: Path) -> None:
    worker = start_worker(["pipelines"])
    result = compute(runs_root, stack_env, "w1", "echo", problem_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"run_id":"w1","manifest":"runs/w1/index.json"}\n'
    assert validate_run(runs_root / "runs" / "w1", strict=True).ok
    [row] = pipeline_rows()
    assert (row["status"], row["queue"], row["worker"]) == ("succeeded", "pipelines",
                                                            worker.hostname)
    assert row["progress"] == "writing snapshots"
    assert row["result"]["resolver_calls"] == 380
    assert row["args"]["kwargs"]["runs_root"] == str(runs_root)  # absolute, from the CLI


def test_openai_on_a_worker_429_then_success_with_progress_in_the_row(
        start_worker, stack_env: dict[str, str], runs_root: Path, problem_file: Path,
        chat_server: ChatServer) -> None:
    start_worker(["pipelines"])
    chat_server.script([429])
    chat_server.latency_s = 0.02
    process = subprocess.Popen(command("w2", "openai", problem_file, 120), env=stack_env,
                               cwd=runs_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    seen: set[str] = set()
    while process.poll() is None:
        seen.update(str(r["progress"]) for r in pipeline_rows() if r["progress"])
        time.sleep(0.02)
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert json.loads(out) == {"run_id": "w2", "manifest": "runs/w2/index.json"}
    assert chat_server.statuses[0] == 429 and chat_server.requests == 381
    assert len({s for s in seen if s.startswith("computing matrix ")}) >= 2, seen
    assert validate_run(runs_root / "runs" / "w2", strict=True).ok


def test_openai_on_a_worker_failing_is_exit_5(start_worker, stack_env: dict[str, str],
                                              runs_root: Path, problem_file: Path,
                                              chat_server: ChatServer) -> None:
    start_worker(["pipelines"])
    chat_server.script([], then_status=503)
    result = compute(runs_root, stack_env, "w3", "openai", problem_file)
    assert result.returncode == 5
    assert error_of(result)["code"] == "RESOLVER_ERROR"
    [row] = pipeline_rows()
    assert (row["status"], row["last_exit_code"], row["attempts"]) == ("failed", 5, 1)
    assert not (runs_root / "runs" / "w3" / "index.json").exists()


def test_a_200_that_is_not_json_on_a_worker_is_exit_5_with_its_cause_on_the_row(
        start_worker, stack_env: dict[str, str], runs_root: Path, problem_file: Path,
        chat_server: ChatServer) -> None:
    start_worker(["pipelines"])
    chat_server.raw = RawAnswer(b"<html>502</html>", content_type="text/html")
    result = compute(runs_root, stack_env, "w8", "openai", problem_file)
    assert result.returncode == 5, result.stderr
    error = error_of(result)
    assert error["code"] == "RESOLVER_ERROR" and "the answer was not JSON" in error["message"]
    [row] = pipeline_rows()
    assert (row["status"], row["last_exit_code"]) == ("failed", 5)
    assert row["last_error"] == error["message"]
    assert row["result"]["details"]["resolver_retries"] >= 2


def test_a_worker_whose_base_url_is_not_http_answers_exit_2_before_any_call(
        start_worker, stack_env: dict[str, str], runs_root: Path, problem_file: Path,
        chat_server: ChatServer) -> None:
    cli_env = dict(stack_env)  # the CLI's own settings are fine ...
    stack_env["OPENAI_BASE_URL"] = "notaurl"  # ... the worker's are not
    start_worker(["pipelines"])
    result = compute(runs_root, cli_env, "w9", "openai", problem_file)
    assert result.returncode == 2, result.stderr
    error = error_of(result)
    assert error["code"] == "INVALID_ARGUMENTS"
    assert error["message"].startswith("the worker's settings: OPENAI_BASE_URL must be")
    assert chat_server.requests == 0
    [row] = pipeline_rows()
    assert (row["status"], row["last_exit_code"]) == ("failed", 2)


def test_openai_on_a_worker_past_max_seconds_is_exit_3(start_worker, stack_env: dict[str, str],
                                                       runs_root: Path, problem_file: Path,
                                                       chat_server: ChatServer) -> None:
    start_worker(["pipelines"])
    chat_server.latency_s = 60
    started = time.monotonic()
    result = compute(runs_root, stack_env, "w4", "openai", problem_file, max_seconds=4)
    assert result.returncode == 3
    assert time.monotonic() - started < 4 + 2.5
    assert error_of(result)["code"] == "TIMEOUT"
    row = wait_for_row("failed")
    assert row["last_exit_code"] == 3
    assert not (runs_root / "runs" / "w4" / "index.json").exists()


def test_two_concurrent_submissions_compute_the_run_once(
        start_worker, stack_env: dict[str, str], runs_root: Path, problem_file: Path,
        chat_server: ChatServer) -> None:
    start_worker(["pipelines"], concurrency=2)
    chat_server.latency_s = 0.01
    processes = [subprocess.Popen(command("w5", "openai", problem_file, 120), env=stack_env,
                                  cwd=runs_root, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0] == '{"run_id":"w5","manifest":"runs/w5/index.json"}\n'
    assert chat_server.requests == 380
    results = sorted((r["result"]["reused"], r["result"]["resolver_calls"])
                     for r in pipeline_rows())
    assert results == [(False, 380), (True, 0)]


def test_the_cli_bounds_its_wait_when_the_worker_cannot_answer_in_time(
        start_worker, stack_env: dict[str, str], runs_root: Path, problem_file: Path,
        chat_server: ChatServer) -> None:
    # Given the only worker slot busy with a slow run for 8 s ...
    start_worker(["pipelines"], concurrency=1)
    chat_server.latency_s = 60
    busy = subprocess.Popen(command("busy", "openai", problem_file, 8), env=stack_env,
                            cwd=runs_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    wait_for_row("running")
    # ... a 2 s run waits in the queue, and its CLI gives up on time by itself.
    started = time.monotonic()
    result = compute(runs_root, stack_env, "queued", "echo", problem_file, max_seconds=2)
    assert result.returncode == 3
    assert time.monotonic() - started < 2 + 2.5
    error = error_of(result)
    assert error["code"] == "TIMEOUT" and error["details"]["reason"] == "wait_timeout"
    busy.communicate(timeout=60)
    assert busy.returncode == 3
    # When the worker gets to it, its time is up: it fails at once and creates nothing.
    deadline = time.monotonic() + 30
    while len([r for r in pipeline_rows() if r["status"] == "failed"]) < 2:
        assert time.monotonic() < deadline, pipeline_rows()
        time.sleep(0.05)
    assert {r["last_exit_code"] for r in pipeline_rows()} == {3}
    assert not (runs_root / "runs" / "queued").exists()


def test_progress_is_shown_on_a_terminal(start_worker, stack_env: dict[str, str],
                                         runs_root: Path, problem_file: Path,
                                         chat_server: ChatServer) -> None:
    start_worker(["pipelines"])
    chat_server.latency_s = 0.02
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command("w7", "openai", problem_file, 120), env=stack_env,
                               cwd=runs_root, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert json.loads(out)["run_id"] == "w7"  # stdout stays the contract's one line
    assert b"computing matrix " in shown and b"\r\x1b[K" in shown
