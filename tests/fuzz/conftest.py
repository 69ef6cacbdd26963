"""Shared pieces of the bad-input suite (docs/testing.md, "Bad input (hypothesis)").

- `fuzz_settings(n)`: the bounded, deterministic hypothesis settings every fuzz test uses;
  FUZZ_SCALE=k multiplies every test's examples (run more locally), FUZZ_RANDOM=1 draws
  fresh examples instead of the fixed derandomized ones.
- `fuzz_home`: an isolated state: CONVEYOR_HOME (from the suite's autouse fixture),
  SYNORA_HOME, HOME and the working folder, all under the test's tmp_path.
- `run_cli`: a console script's command run in this process, as `run_cli(command,
  error_format, args)` -> Outcome(exit_code, stdout, stderr); it fails the test when the
  command recorded a crash (an unexpected exception) or let a traceback out.
  `standard_error(outcome)` checks the standard error object on stderr.
- `accepts_int`, `accepts_seconds`: oracles for numeric options, written apart from cli/.
- `db_rows` and `tree` snapshots, to check that bad input changed nothing it may not.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, settings

from cli.contract import ErrorFormat, invoke

FUZZ_PROFILE = "conveyor-fuzz"
SCALE_VAR = "FUZZ_SCALE"
RANDOM_VAR = "FUZZ_RANDOM"
# What the CLI (cli.contract.record_crash) and a worker (workers.base_task) log, with the
# traceback, for an unexpected exception; an embedded worker logs to the same file.
CRASH_MESSAGES = ("unexpected error in ", "job crashed")
# The details.reason of a job system error that reports a job's unexpected exception.
CRASH_REASONS = ("job_crashed", "job_failed")


def _scale() -> int:
    raw = os.environ.get(SCALE_VAR, "1")
    try:
        return max(1, int(raw))
    except ValueError:
        raise pytest.UsageError(f"{SCALE_VAR} must be a positive integer, got {raw!r}") from None


settings.register_profile(
    FUZZ_PROFILE,
    deadline=None,  # a CLI call may touch SQLite or the embedded worker: no timing
    derandomize=os.environ.get(RANDOM_VAR, "") not in ("1", "true", "yes"),
    database=None,  # nothing remembered between runs: CI sees what a laptop sees
    print_blob=True,
    # The state fixtures are function-scoped on purpose: every example of a test shares
    # them, and each example checks its own effect against a snapshot taken just before.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def fuzz_settings(max_examples: int) -> settings:
    """The suite's profile with this test's bound (times FUZZ_SCALE)."""
    return settings(settings.get_profile(FUZZ_PROFILE), max_examples=max_examples * _scale())


# ---- isolated state --------------------------------------------------------------------

@dataclass(frozen=True)
class FuzzHome:
    """Every folder a console script may write to, all under one root."""

    root: Path
    conveyor: Path
    synora: Path
    user_home: Path
    cwd: Path


@pytest.fixture
def fuzz_home(tmp_path: Path, conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> FuzzHome:
    """An isolated state: nothing a command does can reach the real home or the repository."""
    from config.settings import reset_settings

    home = FuzzHome(root=tmp_path, conveyor=conveyor_home, synora=tmp_path / "synora-home",
                    user_home=tmp_path / "user-home", cwd=tmp_path / "cwd")
    for folder in (home.user_home, home.cwd):
        folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SYNORA_HOME", str(home.synora))
    monkeypatch.setenv("HOME", str(home.user_home))
    monkeypatch.chdir(home.cwd)
    reset_settings()
    return home


# ---- running a command in this process ---------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What a caller of a command observes."""

    exit_code: int
    stdout: str
    stderr: str

    def json_out(self) -> Any:
        return json.loads(self.stdout)

    def json_err(self) -> Any:
        return json.loads(self.stderr)


RunCli = Callable[..., Outcome]


def standard_error(outcome: Outcome) -> dict[str, Any]:
    """The `{"error": true, "code", "message", "details"}` object on stderr (the exam
    contract's and conveyor's format), nothing on stdout; returns it."""
    assert outcome.stdout == "", outcome
    error = outcome.json_err()
    assert isinstance(error, dict) and set(error) == {"error", "code", "message", "details"}, error
    assert error["error"] is True and isinstance(error["details"], dict), error
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    assert error["message"].strip(), error
    assert error["details"].get("reason") not in CRASH_REASONS, error
    return error


class _Stream(io.TextIOWrapper):
    """A UTF-8 pipe as a console script gets one. Python's stdout is strict in a UTF-8
    locale, so text it cannot encode (lone surrogates) fails here as it would there;
    its stderr always writes such characters as backslash escapes."""

    def __init__(self, errors: str) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors=errors, write_through=True)

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        self.flush()
        data = self.buffer.getvalue()  # type: ignore[attr-defined]
        return data.decode("utf-8")  # bytes written were UTF-8: a failure here is a bug


def cli_log(conveyor_home: Path) -> Path:
    return conveyor_home / "logs" / "cli.log"


def crashes(conveyor_home: Path, since: int = 0) -> list[str]:
    """The crash records (unexpected exceptions) in the CLI log from byte offset `since`
    on, with their tracebacks."""
    log = cli_log(conveyor_home)
    if not log.exists():
        return []
    with log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode("utf-8", errors="replace")
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("message", "")).startswith(CRASH_MESSAGES):
            found.append(f"{entry['message']}\n{entry.get('exc', '')}")
    return found


@pytest.fixture
def run_cli(fuzz_home: FuzzHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunCli]:
    """run_cli(command, error_format, args, prog_name=None, stdin=b"") -> Outcome."""
    def run(command: click.Command, fmt: ErrorFormat, args: Sequence[str],
            prog_name: str | None = None, stdin: bytes = b"") -> Outcome:
        out, err = _Stream("strict"), _Stream("backslashreplace")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        log = cli_log(fuzz_home.conveyor)
        log_size = log.stat().st_size if log.exists() else 0
        with redirect_stdout(out), redirect_stderr(err):
            code = invoke(command, fmt, list(args), prog_name=prog_name)
        outcome = Outcome(code, out.text(), err.text())
        recorded = crashes(fuzz_home.conveyor, since=log_size)
        assert not recorded, f"{prog_name} {list(args)!r} crashed:\n" + "\n".join(recorded)
        for stream in (outcome.stdout, outcome.stderr):
            assert "Traceback (most recent call last)" not in stream, outcome
        return outcome

    yield run


# ---- oracles for numeric options ----------------------------------------------------------

def accepts_int(value: str, low: int, high: int) -> bool:
    """Whether click.IntRange(low, high) takes this text (click converts with int())."""
    try:
        return low <= int(value) <= high
    except ValueError:
        return False


def accepts_seconds(value: str, *, positive: bool = True) -> bool:
    """Whether a duration option (cli.job_options.Seconds) takes this text: a finite
    number from 0 (or above 0) to MAX_SECONDS; NaN fails every comparison."""
    from cli.job_options import MAX_SECONDS

    try:
        number = float(value)
    except ValueError:
        return False
    return (number > 0 if positive else number >= 0) and number <= MAX_SECONDS


# ---- snapshots for "bad input changed nothing" -------------------------------------------

Rows = dict[str, list[dict[str, Any]]]


def db_rows(*tables: str, url: str | None = None) -> Rows:
    """Every row of these tables (configured database by default) as column -> value,
    in a stable order: compare two snapshots to see what a command changed."""
    from sqlalchemy import text

    from store.engine import get_engine

    with get_engine(url).connect() as conn:
        return {table: sorted((dict(row._mapping) for row in conn.execute(
                    text(f'SELECT * FROM "{table}"'))), key=repr)
                for table in tables}


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root (not following symbolic links): file contents, None for the rest."""
    snapshot: dict[str, bytes | None] = {}
    if not root.exists():
        return snapshot
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        snapshot[relative] = (path.read_bytes()
                              if path.is_file() and not path.is_symlink() else None)
    return snapshot
