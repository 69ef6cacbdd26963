"""`conveyor jobs wait` shows the row's progress on stderr when it is a terminal only."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from store import job_writes
from store.job_writes import QueuedJob
from tests.support.cli import run_cli
from tests.support.env import ROOT

pytestmark = pytest.mark.integration


def _queued_with_progress(job_id: str) -> None:
    job_writes.record_queued(None, QueuedJob(id=job_id, kind="tasks.probe.probe",
                                             queue="default", args={}))
    job_writes.set_progress(job_id, "matrix C (3/13)\x1b[2J")


def test_progress_on_a_terminal_and_not_on_a_pipe(job_env) -> None:
    _queued_with_progress("watched")
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [str(Path(sys.executable).parent / "conveyor"), "jobs", "wait", "watched"],
            env=job_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=follower, timeout=60)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert process.returncode == 3  # no worker consumes default: the wait gives up
    text = shown.decode(errors="replace")
    assert "[watched] queued: matrix C (3/13)" in text
    assert "\x1b[2J" not in text  # the row's control characters are shown escaped

    piped = run_cli("conveyor", "jobs", "wait", "watched", env=job_env)
    assert piped.returncode == 3
    assert "matrix C" not in piped.stderr and "queued:" not in piped.stderr
