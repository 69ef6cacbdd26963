"""A read-only or full CONVEYOR_HOME: on every console script, a clear error in that CLI's
contract format naming the path and the OS error, never a traceback or an internal error.

Each case is one command of one CLI that writes its state, run on a small tmpfs remounted
read-only or filled (tests/support/tmpfs.py). The state CLIs keep outside CONVEYOR_HOME by
default is pointed at the same tmpfs: SYNORA_HOME (default ~/.synora), YELLOW_PLUGINS_DIR
(default ./.claude-plugin) and CHIRALITY_RUNS_ROOT (default: the current folder); oord's
state is $CONVEYOR_HOME/oord already. The mapping is in docs/conveyor.md."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import json_err, json_out, run_cli
from tests.support.tmpfs import Tmpfs, small_tmpfs

pytestmark = pytest.mark.integration

USER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
SESSION = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
READ_ONLY_WORDS = ("Read-only file system",)
FULL_WORDS = ("No space left on device", "database or disk is full")

Result = subprocess.CompletedProcess[str]


def exam_error(result: Result) -> dict[str, Any]:
    """conveyor's and the exam CLIs' (and synora --json's) {"error": true, code, message,
    details} on stderr."""
    error: dict[str, Any] = json_err(result)
    assert error["error"] is True and set(error) == {"error", "code", "message", "details"}
    return error


def oord_error(result: Result) -> dict[str, Any]:
    """{"error": {code, message, details}, "exit_code": N} on stderr, N the exit code."""
    body = json_err(result)
    assert set(body) == {"error", "exit_code"} and body["exit_code"] == result.returncode
    error: dict[str, Any] = body["error"]
    return error


def chirality_error(result: Result) -> dict[str, Any]:
    """{"error": {code, message, details}} on one stderr line."""
    body = json_err(result)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


def plugins_error(result: Result) -> dict[str, Any]:
    """The response envelope on stdout: success false, status error, error.{code, message,
    context}."""
    envelope = json_out(result)
    assert envelope["success"] is False and envelope["status"] == "error"
    error = envelope["error"]
    return {"code": error["code"], "message": error["message"],
            "details": error.get("context", {})}


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    read_only: tuple[int, str]
    """Exit code and error code with CONVEYOR_HOME read-only."""
    full: tuple[int, str]
    """The same with it full."""
    error_of: Callable[[Result], dict[str, Any]]


def _cases(problem: Path, market: Path) -> dict[str, Case]:
    exam_ro, exam_full = (2, "INVALID_ARGUMENTS"), (1, "JOB_SYSTEM_UNAVAILABLE")
    return {
        "conveyor check": Case(("conveyor", "check", "--queue", "default", "--timeout", "5"),
                               (2, "INVALID_ARGUMENTS"), (3, "JOB_SYSTEM_UNAVAILABLE"),
                               exam_error),
        "conveyor jobs list": Case(("conveyor", "jobs", "list"), (2, "INVALID_ARGUMENTS"),
                                   (3, "JOB_SYSTEM_UNAVAILABLE"), exam_error),
        "session-lifecycle create": Case(
            ("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION),
            exam_ro, exam_full, exam_error),
        "execution-environment create": Case(  # a job: runs in this process (embedded)
            ("execution-environment", "create", "--session-id", SESSION, "--timeout", "5"),
            exam_ro, exam_full, exam_error),
        "environment-access authorize": Case(
            ("environment-access", "authorize", "--session-id", SESSION, "--user-id", USER),
            exam_ro, exam_full, exam_error),
        "session-status get": Case(("session-status", "get", "--session-id", SESSION),
                                   exam_ro, exam_full, exam_error),
        "cleanup-ttl sweep": Case(("cleanup-ttl", "sweep", "--timeout", "5"),
                                  exam_ro, exam_full, exam_error),
        "synora package add": Case(
            ("synora", "package", "add", "--id", "Git.Git", "--name", "Git", "--version",
             "2.0", "--install-path", "/opt/git", "--json"),
            (2, "USAGE_ERROR"), (4, "STORE_FAILED"), exam_error),
        "oord keys init": Case(("oord", "keys", "init"), (2, "IO_ERROR"), (2, "IO_ERROR"),
                               oord_error),
        "chirality compute-pipeline": Case(
            ("chirality", "compute-pipeline", "--resolver", "echo", "--problem-file",
             str(problem), "--max-seconds", "20"),
            (4, "IO_ERROR"), (4, "IO_ERROR"), chirality_error),
        "plugins install": Case(("plugins", "install", "p1", "--node-version", "20.10.0",
                                 "--marketplace", str(market)),
                                (1, "ERROR-INST-004"), (1, "ERROR-INST-004"), plugins_error),
    }


CASE_NAMES = list(_cases(Path("p"), Path("m")))
STATELESS = {  # their only commands keep no state: a broken home must not stop them
    "session-identity validate": ("session-identity", "validate", "--user-id", USER,
                                  "--session-id", SESSION),
    "failure-classification classify": ("failure-classification", "classify", "--type",
                                        "init", "--context", "{}"),
}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    from tests.support.plugin_market import Market

    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps({"title": "State", "statement": "Nowhere to write."}))
    market = Market(tmp_path / "market")
    market.add("p1", "1.0.0")
    return problem, market.root


def _env(disk: Tmpfs) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SYNORA_", "YELLOW_PLUGINS_", "CHIRALITY_", "OORD_"))}
    root = disk.root
    return {**env, "CONVEYOR_HOME": str(root), "SYNORA_HOME": str(root / "synora"),
            "YELLOW_PLUGINS_DIR": str(root / "plugins"),
            "CHIRALITY_RUNS_ROOT": str(root / "chirality")}


def _prepare(disk: Tmpfs) -> None:
    """The folders the settings name exist (a read-only disk could not get them later)."""
    for name in ("synora", "plugins", "chirality"):
        (disk.root / name).mkdir()


def _remount_read_only(disk: Tmpfs) -> None:
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk.root)],
                               capture_output=True, text=True, check=False)
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")


def _assert_clear(case: Case, result: Result, expected: tuple[int, str], root: Path,
                  words: tuple[str, ...]) -> dict[str, Any]:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "INTERNAL_ERROR" not in output, output
    assert result.returncode == expected[0], output
    error = case.error_of(result)
    assert error["code"] == expected[1], error
    assert str(root) in error["message"], error
    assert any(word in error["message"] for word in words), error
    return error


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_read_only_home_is_a_clear_error(tmp_path: Path, inputs: tuple[Path, Path],
                                           name: str) -> None:
    case = _cases(*inputs)[name]
    with small_tmpfs(tmp_path / "home", size_kib=256) as disk:
        _prepare(disk)
        _remount_read_only(disk)
        result = run_cli(*case.argv, env=_env(disk), cwd=tmp_path)
    _assert_clear(case, result, case.read_only, disk.root, READ_ONLY_WORDS)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_full_home_is_a_clear_error(tmp_path: Path, inputs: tuple[Path, Path],
                                      name: str) -> None:
    case = _cases(*inputs)[name]
    with small_tmpfs(tmp_path / "home", size_kib=256) as disk:
        _prepare(disk)
        disk.fill(leave_bytes=0)
        result = run_cli(*case.argv, env=_env(disk), cwd=tmp_path)
        # Nothing half-written that a later command would take for real state.
        assert not (disk.root / "oord" / "keys" / "signing_key.pem").exists()
    error = _assert_clear(case, result, case.full, disk.root, FULL_WORDS)
    if "reason" in error["details"] and case.error_of is not chirality_error:
        assert error["details"]["reason"] == "disk_full", error
    if case.error_of is chirality_error:
        assert error["details"]["errno"] == 28, error


@pytest.mark.parametrize("name", list(STATELESS))
@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_a_cli_without_state_still_answers(tmp_path: Path, name: str, fault: str) -> None:
    with small_tmpfs(tmp_path / "home", size_kib=256) as disk:
        _prepare(disk)
        if fault == "read-only":
            _remount_read_only(disk)
        else:
            disk.fill(leave_bytes=0)
        result = run_cli(*STATELESS[name], env=_env(disk), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json_out(result)  # its ordinary answer
