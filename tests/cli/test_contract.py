"""run_cli: every outcome in the contract's format, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click
import pytest

from cli.contract import JobInterrupted, StandardErrorFormat, invoke
from common.errors import ContractError, JobSystemError

FMT = StandardErrorFormat()


@click.group()
def tool() -> None:
    """A tool."""


@tool.command()
@click.option("--n", type=int, required=True)
def count(n: int) -> int:
    click.echo(json.dumps({"n": n}))
    return 0


@tool.command()
@click.argument("what")
def fail(what: str) -> None:
    if what == "contract":
        raise ContractError("SESSION_NOT_FOUND", "no such session", {"id": "x"}, 4)
    if what == "system":
        raise JobSystemError("no_worker", "no worker is consuming queue 'default'")
    if what == "interrupt":
        raise JobInterrupted("job-123", embedded=False)
    if what == "database":
        raise sqlite3.OperationalError("database is locked")
    raise RuntimeError("password=hunter2 leaked into an exception")


def _err(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    captured = capsys.readouterr()
    assert captured.out == ""
    return json.loads(captured.err)  # type: ignore[no-any-return]


def test_success_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, ["count", "--n", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == {"n": 3}


@pytest.mark.parametrize("args", [["count"], ["count", "--n", "x"], ["nosuch"], ["count", "--n"],
                                  ["count", "--n", "1", "--bogus"]])
def test_click_usage_errors_use_the_contract_format(args: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, args) == 2
    error = _err(capsys)
    assert error["error"] is True
    assert error["code"] == "INVALID_ARGUMENTS"
    assert error["details"] == {}
    assert isinstance(error["message"], str) and error["message"]


def test_contract_errors_keep_code_details_and_exit(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, ["fail", "contract"]) == 4
    assert _err(capsys) == {"error": True, "code": "SESSION_NOT_FOUND",
                            "message": "no such session", "details": {"id": "x"}}


def test_job_system_errors_are_mapped(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, ["fail", "system"]) == 1
    error = _err(capsys)
    assert error["code"] == "JOB_SYSTEM_UNAVAILABLE"
    assert error["details"] == {"reason": "no_worker"}


def test_unexpected_errors_hide_the_traceback(capsys: pytest.CaptureFixture[str],
                                              conveyor_home: Path) -> None:
    assert invoke(tool, FMT, ["fail", "bug"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "hunter2" not in captured.err
    error = json.loads(captured.err)
    assert error["code"] == "INTERNAL_ERROR"
    crash_log = conveyor_home / "logs" / "cli.log"
    assert "RuntimeError" in crash_log.read_text()
    assert str(crash_log) in error["message"]


def test_an_unavailable_database_is_the_system_failing_not_a_crash(
        capsys: pytest.CaptureFixture[str], conveyor_home: Path) -> None:
    assert invoke(tool, FMT, ["fail", "database"]) == 1
    error = _err(capsys)
    assert error["code"] == "JOB_SYSTEM_UNAVAILABLE"
    assert error["details"] == {"reason": "database_unavailable"}
    crash_log = conveyor_home / "logs" / "cli.log"
    assert "unexpected error" not in (crash_log.read_text() if crash_log.exists() else "")


def test_interrupt_names_the_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, ["fail", "interrupt"]) == 130
    report = json.loads(capsys.readouterr().err)
    assert report["job_id"] == "job-123"
    assert "conveyor jobs wait job-123" in report["message"]


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(tool, FMT, ["--help"]) == 0
    assert "A tool." in capsys.readouterr().out


def test_a_bare_group_prints_its_help_on_stdout(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing at all on the command line: a person asking what there is, as with --help.
    assert invoke(tool, FMT, []) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Usage: tool [OPTIONS] COMMAND") and captured.err == ""
