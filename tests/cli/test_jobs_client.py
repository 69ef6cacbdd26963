"""A client waiting on a job rides out a database it cannot reach for a while; the jobs
commands say it is unavailable."""

from __future__ import annotations

import json

import pytest

from cli.contract import invoke
from cli.conveyor import ERRORS, conveyor
from cli.job_watch import wait_for_row
from cli.jobs_client import read_job_row
from common.errors import JobSystemError
from config.settings import reset_settings
from store import job_writes
from workers.ports import free_port


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> str:
    """A PostgreSQL URL on a loopback port nobody listens on: every connect is refused."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    reset_settings()
    return url


def test_a_row_is_read_when_the_database_answers(db_url: str) -> None:
    job_writes.start_attempt("j1", kind="tasks.x.y", queue="default", args={}, correlation_id=None,
                             max_attempts=3, worker="w@h", url=db_url)
    readable, row = read_job_row("j1")
    assert readable and row is not None and row["status"] == "running"
    assert read_job_row("missing") == (True, None)


def test_an_unreachable_database_is_not_an_answer(unreachable_database: str) -> None:
    assert read_job_row("j1") == (False, None)


def test_jobs_wait_keeps_waiting_through_an_outage(unreachable_database: str) -> None:
    # Given a job last seen running, when its database cannot be reached, the wait goes
    # on until its own deadline instead of failing with the database's error.
    row = {"id": "j1", "status": "running", "queue": "default"}
    with pytest.raises(JobSystemError) as caught:
        wait_for_row(row, timeout_s=0.5)
    assert caught.value.reason == "wait_timeout"


@pytest.mark.parametrize("args", [("jobs", "list"), ("jobs", "show", "j1"),
                                  ("jobs", "wait", "j1", "--timeout", "1")])
def test_the_jobs_commands_say_the_database_is_unavailable(
        unreachable_database: str, args: tuple[str, ...],
        capsys: pytest.CaptureFixture[str]) -> None:
    # Exit 3, the job system cannot serve (docs/conveyor.md); not an unexpected error.
    assert invoke(conveyor, ERRORS, list(args)) == 3
    error = json.loads(capsys.readouterr().err)
    assert (error["code"], error["details"]["reason"]) == ("JOB_SYSTEM_UNAVAILABLE",
                                                           "database_unavailable")
    assert "127.0.0.1" not in error["message"]
