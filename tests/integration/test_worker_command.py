"""`conveyor worker` starts a real Celery worker on the queues it is given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.env import ROOT
from workers.consumers import live_consumers

pytestmark = pytest.mark.integration


def test_conveyor_worker_consumes_the_named_queues(job_env, redis_db, celery_client,
                                                   tmp_path: Path) -> None:
    conveyor = str(Path(sys.executable).parent / "conveyor")
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([conveyor, "worker", "-Q", "oord,sweeps", "-c", "1",
                                "-n", "wrapped@localhost"], env=job_env, cwd=tmp_path,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = redis_db.client()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all("wrapped@localhost" in live_consumers(client, q, lease_renew_s=0.5)
                   for q in ("oord", "sweeps")):
                break
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.05)
        assert live_consumers(client, "default", lease_renew_s=0.5) == []
        job = celery_client.submit("tasks.probe.probe", {}, queue="oord")
        assert celery_client.wait(job, timeout_s=30)["worker"] == "wrapped@localhost"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_unknown_queues_are_refused(job_env) -> None:
    conveyor = str(Path(sys.executable).parent / "conveyor")
    result = subprocess.run([conveyor, "worker", "-Q", "nope"], env=job_env, cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "unknown queue nope" in result.stderr
