"""Ctrl-C while a CLI waits: it names the job and leaves it running."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from store import jobs
from tests.support.cli import start_submit_and_wait

pytestmark = pytest.mark.integration

def test_ctrl_c_prints_the_job_id_and_the_job_goes_on(start_worker, job_env,
                                                      tmp_path: Path) -> None:
    start_worker(["default"])
    marker = tmp_path / "marker"
    marker.mkdir()
    cli = start_submit_and_wait("tests.support.tasks.blocking", {"marker_dir": str(marker)},
                                job_env)
    deadline = time.monotonic() + 30
    while not (marker / "log").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=30)

    assert cli.returncode == 130
    assert out == ""
    report = json.loads(err.strip().splitlines()[-1])
    job_id = report["job_id"]
    assert report["interrupted"] is True
    assert f"conveyor jobs wait {job_id}" in report["message"]

    (marker / "release").touch()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = jobs.get_job(job_id)
        if row is not None and row["status"] == "succeeded":
            break
        time.sleep(0.05)
    row = jobs.get_job(job_id)
    assert row is not None and row["status"] == "succeeded"
    assert (marker / "log").read_text().splitlines() == ["started", "finished"]
