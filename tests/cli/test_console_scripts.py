"""Every console script of pyproject.toml, run as a process: --version, bare help, and a
bad flag answered in its contract's one usage-error format (JSON, exit 2: on stderr, or
for `plugins` the error envelope where its contract puts every response).

The scripts come from [project.scripts] itself, so a new one is covered without a word
here; the expected error shapes come from the contracts (and docs/ where a contract
leaves the shape to us), not from our code.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.metadata import version
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.env import ROOT

SCRIPTS = sorted(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
EXAM = ("session-identity", "session-lifecycle", "execution-environment", "environment-access",
        "session-status", "failure-classification", "cleanup-ttl")


@cache
def calls() -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Every call below, made once, four processes at a time (each is a cold start)."""
    wanted = [(script, *args, *USAGE[script][2]) if args[0] in ("--bogus", "nosuch")
              else (script, *args) for script in SCRIPTS
              for args in (("--version",), ("--bogus",), ("nosuch",))] + [(s,) for s in SCRIPTS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(wanted, pool.map(lambda call: run_cli(*call), wanted), strict=True))


def test_every_script_is_checked_here() -> None:
    assert len(SCRIPTS) == 12
    assert set(SCRIPTS) == {"conveyor", "synora", "oord", "chirality", "plugins", *EXAM}


@pytest.mark.parametrize("script", SCRIPTS)
def test_version(script: str) -> None:
    result = calls()[(script, "--version")]
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{script}, version {version('conveyor')}\n"
    assert result.stderr == ""


@pytest.mark.parametrize("script", SCRIPTS)
def test_bare_command_prints_help_on_stdout(script: str) -> None:
    result = calls()[(script,)]
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {script} [OPTIONS] COMMAND [ARGS]...\n")
    assert "Commands:" in result.stdout and "--version" in result.stdout
    assert result.stderr == ""


def _standard(error: Any) -> str:
    """exam-session-isolation.md's Standard Error Format (conveyor uses it too)."""
    assert set(error) == {"error", "code", "message", "details"} and error["error"] is True
    return str(error["code"])


def _nested(error: Any) -> str:
    """oord and chirality: {"error": {"code", "message", "details"}} (oord adds exit_code)."""
    assert set(error["error"]) == {"code", "message", "details"}
    assert set(error) - {"error"} <= {"exit_code"}
    return str(error["error"]["code"])


def _envelope(error: Any) -> str:
    """plugin-marketplace.md's response envelope with status error."""
    assert error["success"] is False and error["status"] == "error"
    assert {"transactionId", "correlationId", "timestamp", "cliVersion"} <= set(error)
    return str(error["error"]["code"])


# script -> (how its error reads, the code of a usage error, the extra arguments that ask
# for JSON: synora's errors are one text line unless --json, as its output is)
USAGE = {
    **{script: (_standard, "INVALID_ARGUMENTS", ()) for script in (*EXAM, "conveyor")},
    "oord": (_nested, "USAGE_ERROR", ()),
    "chirality": (_nested, "INVALID_ARGUMENTS", ()),
    "plugins": (_envelope, "ERROR-SCHEMA-002", ()),
    "synora": (_standard, "USAGE_ERROR", ("--json",)),
}


# plugin-marketplace.md writes every response, error envelopes included, to --output or
# stdout (its writeResponse); every other contract puts errors on stderr.
ERRORS_ON_STDOUT = {"plugins"}


def _one_json_error(script: str, *args: str) -> str:
    read, code, extra = USAGE[script]
    result = calls()[(script, *args, *extra)]
    assert result.returncode == 2, (result.stdout, result.stderr)
    where, other = ((result.stdout, result.stderr) if script in ERRORS_ON_STDOUT
                    else (result.stderr, result.stdout))
    assert other == ""
    assert "Traceback" not in where
    assert read(json.loads(where)) == code
    return str(json.loads(where))


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_flag_is_one_json_error_on_stderr(script: str) -> None:
    assert "--bogus" in _one_json_error(script, "--bogus")


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_command_is_one_json_error_on_stderr(script: str) -> None:
    assert "nosuch" in _one_json_error(script, "nosuch")


def test_a_subcommand_usage_error_of_plugins_goes_to_output(tmp_path: Any) -> None:
    # The contract's automated client reads --output: click's errors go there too.
    out = tmp_path / "result.json"
    result = run_cli("plugins", "install", "--bogus", "--output", str(out))
    assert result.returncode == 2 and result.stdout == "" and result.stderr == ""
    assert _envelope(json.loads(out.read_text())) == "ERROR-SCHEMA-002"


def test_synora_text_mode_keeps_its_one_line_error() -> None:
    result = run_cli("synora", "--bogus")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("synora: error: No such option") and \
        result.stderr.count("\n") == 1
