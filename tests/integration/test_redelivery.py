"""At-least-once delivery: a worker killed mid-job, its job finished once by another."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from store import jobs

pytestmark = pytest.mark.integration


def _wait_for_line(path: Path, line: str, count: int = 1, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().splitlines().count(line) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never had {count}x {line!r}")


def test_a_sigkilled_workers_job_is_redelivered_and_completed_once(
        start_worker, celery_client, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.mkdir()
    first = start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.blocking", {"marker_dir": str(marker)})

    # When the worker dies in the middle of the acks-late job ...
    _wait_for_line(marker / "log", "started")
    first.kill(signal.SIGKILL)
    (marker / "release").touch()

    # ... another worker gets the message back within seconds and finishes it.
    started = time.monotonic()
    start_worker(["default"])
    assert celery_client.wait(job, timeout_s=60) == {"ok": True}
    redelivered_after_s = time.monotonic() - started

    assert (marker / "log").read_text().splitlines() == ["started", "started", "finished"]
    row = jobs.get_job(job.job_id)
    assert row is not None
    assert (row["status"], row["attempts"]) == ("succeeded", 2)
    assert redelivered_after_s < 20


def test_a_long_job_in_a_live_worker_is_not_redelivered(
        start_worker, celery_client, tmp_path: Path) -> None:
    """Leases are renewed: running past the visibility timeout hands out no second copy."""
    marker = tmp_path / "marker"
    marker.mkdir()
    start_worker(["default"])
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.blocking", {"marker_dir": str(marker)})
    _wait_for_line(marker / "log", "started")
    time.sleep(3 * 3 + 1)  # three visibility timeouts (3 s each in tests) and a restore scan
    (marker / "release").touch()
    assert celery_client.wait(job, timeout_s=30) == {"ok": True}
    assert (marker / "log").read_text().splitlines() == ["started", "finished"]
    row = jobs.get_job(job.job_id)
    assert row is not None and row["attempts"] == 1
