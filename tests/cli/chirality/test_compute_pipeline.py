"""`chirality compute-pipeline` as a user runs it: processes, embedded mode, exact output."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from domain.chirality.validate import validate_run
from tests.support.chat_server import ChatServer
from tests.support.chirality import error_of, openai_env
from tests.support.cli import run_cli

pytestmark = pytest.mark.slow


def compute(cwd: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli("chirality", "compute-pipeline", *args,
                   env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


def echo_args(problem_file: Path, out: str | None = "runs/e1", *extra: str) -> list[str]:
    args = ["--resolver", "echo", "--snapshot-jsonl", "--problem-file", str(problem_file),
            "--max-seconds", "60", *extra]
    return args + (["--out", out] if out is not None else [])



def test_an_echo_run_prints_exactly_one_json_line(runs_root: Path, problem_file: Path) -> None:
    result = compute(runs_root, *echo_args(problem_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"run_id":"e1","manifest":"runs/e1/index.json"}\n'
    assert result.stderr == ""
    assert validate_run(runs_root / "runs" / "e1", strict=True).ok


def test_without_out_a_run_id_is_generated_and_returned(runs_root: Path,
                                                        problem_file: Path) -> None:
    result = compute(runs_root, *echo_args(problem_file, out=None))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["run_id"].startswith("run-")
    assert output["manifest"] == f"runs/{output['run_id']}/index.json"
    assert (runs_root / output["manifest"]).is_file()


def test_a_second_call_reuses_the_run_unless_forced(runs_root: Path,
                                                    problem_file: Path) -> None:
    first = compute(runs_root, *echo_args(problem_file))
    manifest = runs_root / "runs" / "e1" / "index.json"
    stamp = manifest.stat().st_mtime_ns
    again = compute(runs_root, *echo_args(problem_file))
    assert again.returncode == 0 and again.stdout == first.stdout
    assert "already has a valid manifest; not recomputed" in again.stderr
    assert manifest.stat().st_mtime_ns == stamp
    forced = compute(runs_root, *echo_args(problem_file, "runs/e1", "--force"))
    assert forced.returncode == 0 and forced.stdout == first.stdout
    assert manifest.stat().st_mtime_ns != stamp


def test_the_runs_root_setting(tmp_path: Path, runs_root: Path, problem_file: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = compute(runs_root, *echo_args(problem_file),
                     env={"CHIRALITY_RUNS_ROOT": str(elsewhere)})
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "runs" / "e1" / "index.json").is_file()
    assert not (runs_root / "runs").exists()
    missing = compute(runs_root, *echo_args(problem_file),
                      env={"CHIRALITY_RUNS_ROOT": str(tmp_path / "missing")})
    assert missing.returncode == 2 and "runs root" in error_of(missing)["message"]


@pytest.mark.parametrize("out", ["runs/../escape", "runs/..", "../runs/e1", "runs/a/b",
                                 "/tmp/runs/e1", "runs/UPPER", "runs/a b", "runs/a\\b",
                                 "runs/" + "x" * 65, "runs/", "elsewhere/e1"])
def test_bad_run_ids_are_exit_2_and_create_nothing(runs_root: Path, problem_file: Path,
                                                   conveyor_home: Path, out: str) -> None:
    result = compute(runs_root, *echo_args(problem_file, out))
    assert result.returncode == 2
    error = error_of(result)
    assert error["code"] == "INVALID_ARGUMENTS" and "runs/<run_id>" in error["message"]
    assert list(runs_root.iterdir()) == []
    assert not (conveyor_home / "conveyor.db").exists()  # no job was even submitted


@pytest.mark.parametrize(("args", "message"), [
    (["--resolver", "gpt"], "'gpt' is not one of 'openai', 'echo'"),
    (["--max-seconds", "0"], "--max-seconds"),
    (["--max-seconds", "soon"], "'soon' is not a valid integer"),
    (["--no-such-flag"], "No such option '--no-such-flag'"),
])
def test_usage_errors_are_exit_2_in_the_json_format(runs_root: Path, problem_file: Path,
                                                     args: list[str], message: str) -> None:
    result = compute(runs_root, *echo_args(problem_file), *args)
    assert result.returncode == 2
    error = error_of(result)
    assert error["code"] == "INVALID_ARGUMENTS" and message in error["message"]


def test_required_options(runs_root: Path, problem_file: Path) -> None:
    no_resolver = compute(runs_root, "--problem-file", str(problem_file))
    assert no_resolver.returncode == 2 and "--resolver" in error_of(no_resolver)["message"]
    no_problem = compute(runs_root, "--resolver", "echo")
    assert no_problem.returncode == 2 and "--problem-file" in error_of(no_problem)["message"]


def test_bad_problem_files_are_exit_2(runs_root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": "no statement"}')
    for path, message in [(tmp_path / "missing.json", "no such file"),
                          (broken, "statement")]:
        result = compute(runs_root, *echo_args(path))
        assert result.returncode == 2 and message in error_of(result)["message"]
    assert list(runs_root.iterdir()) == []


def test_openai_a_429_then_success(runs_root: Path, problem_file: Path,
                                   chat_server: ChatServer) -> None:
    chat_server.script([429])
    result = compute(runs_root, "--resolver", "openai", "--snapshot-jsonl", "--out", "runs/o1",
                     "--problem-file", str(problem_file), "--max-seconds", "120",
                     env=openai_env(chat_server))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"run_id": "o1", "manifest": "runs/o1/index.json"}
    assert chat_server.statuses[0] == 429 and chat_server.requests == 381
    report = validate_run(runs_root / "runs" / "o1", strict=True)
    assert report.ok


def test_openai_500s_until_failure_is_exit_5_without_a_manifest(
        runs_root: Path, problem_file: Path, chat_server: ChatServer) -> None:
    chat_server.script([], then_status=500)
    result = compute(runs_root, "--resolver", "openai", "--snapshot-jsonl", "--out", "runs/o2",
                     "--problem-file", str(problem_file), env=openai_env(chat_server))
    assert result.returncode == 5
    error = error_of(result)
    assert error["code"] == "RESOLVER_ERROR" and "HTTP 500" in error["message"]
    assert error["details"]["attempts"] == 3  # CHIRALITY_MAX_RETRIES=2
    assert not (runs_root / "runs" / "o2" / "index.json").exists()


def test_openai_slow_answers_past_max_seconds_are_exit_3_without_a_manifest(
        runs_root: Path, problem_file: Path, chat_server: ChatServer) -> None:
    chat_server.latency_s = 60
    started = time.monotonic()
    result = compute(runs_root, "--resolver", "openai", "--snapshot-jsonl", "--out", "runs/o3",
                     "--problem-file", str(problem_file), "--max-seconds", "5",
                     env=openai_env(chat_server))
    elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert error_of(result)["code"] == "TIMEOUT"
    assert elapsed < 5 + 2.5  # the deadline is enforced while computing
    assert chat_server.requests >= 1  # calls were in flight when it ran out
    assert not (runs_root / "runs" / "o3" / "index.json").exists()


def test_openai_without_a_key_is_exit_5(runs_root: Path, problem_file: Path,
                                        chat_server: ChatServer) -> None:
    env = openai_env(chat_server)
    env.pop("OPENAI_API_KEY")
    result = compute(runs_root, *echo_args(problem_file), "--resolver", "openai", env=env)
    assert result.returncode == 5 and "OPENAI_API_KEY" in error_of(result)["message"]


def test_version_and_help(runs_root: Path) -> None:
    version = run_cli("chirality", "--version", cwd=runs_root)
    assert version.returncode == 0 and "chirality" in version.stdout
    helped = run_cli("chirality", "compute-pipeline", "--help", cwd=runs_root)
    assert helped.returncode == 0 and "--snapshot-jsonl" in helped.stdout
