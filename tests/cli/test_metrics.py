"""`conveyor metrics [serve]` against real Redis and a real worker, read with
prometheus_client's own text parser; expected values come from Redis and the rows."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from store import jobs
from tests.support.cli import run_cli
from tests.support.env import ROOT
from workers.ports import free_port

pytestmark = pytest.mark.integration


def _samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted labels: value}} of an exposition, parsed by prometheus_client."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _queue_depth(client: Any, queue: str) -> int:
    return sum(client.llen(key) for key in [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))])


def test_metrics_once_match_redis_and_the_jobs_table(job_env, redis_db, celery_client,
                                                     start_worker) -> None:
    start_worker(["default"])
    done = celery_client.submit("tasks.probe.probe", {}, queue="default")
    celery_client.wait(done, timeout_s=30)
    for queue in ("oord", "oord", "pipelines"):  # no worker there: they wait
        celery_client.submit("tasks.probe.probe", {}, queue=queue, require_worker=False)

    result = run_cli("conveyor", "metrics", env=job_env)
    assert result.returncode == 0, result.stderr
    samples = _samples(result.stdout)

    client = redis_db.client()
    for queue in ("oord", "pipelines", "default", "sweeps", "environments"):
        labels = (("queue", queue),)
        assert samples["conveyor_queue_depth"][labels] == _queue_depth(client, queue)
    assert samples["conveyor_queue_depth"][(("queue", "oord"),)] == 2
    assert samples["conveyor_queue_consumers"][(("queue", "default"),)] == 1
    assert samples["conveyor_queue_consumers"][(("queue", "oord"),)] == 0

    rows = jobs.list_jobs(limit=1000)
    expected = Counter((r["kind"], r["status"]) for r in rows)
    assert {dict(k)["kind"] + "/" + dict(k)["status"]: v
            for k, v in samples["conveyor_jobs"].items()} == \
        {f"{kind}/{status}": n for (kind, status), n in expected.items()}
    assert samples["conveyor_oldest_queued_job_age_seconds"][(("queue", "oord"),)] > 0
    assert samples["conveyor_oldest_queued_job_age_seconds"][(("queue", "default"),)] == 0
    probe = (("kind", "tasks.probe.probe"),)
    assert samples["conveyor_job_duration_seconds_count"][probe] == 1
    assert samples["conveyor_job_duration_seconds_bucket"][(*probe, ("le", "+Inf"))] == 1
    assert samples["conveyor_job_attempts"][probe] == 1
    assert samples["conveyor_database_up"][()] == 1 and samples["conveyor_broker_up"][()] == 1


def test_an_unreachable_broker_is_a_figure_not_an_error(job_env) -> None:
    env = {**job_env, "CONVEYOR_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = run_cli("conveyor", "metrics", env=env)
    assert result.returncode == 0, result.stderr
    samples = _samples(result.stdout)
    assert samples["conveyor_broker_up"][()] == 0
    assert "conveyor_queue_depth" not in samples


def _listening_address(port: int) -> str | None:
    """The local IPv4 address a LISTEN socket on ``port`` is bound to (from the kernel)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            return ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return None


def test_metrics_serve_answers_on_loopback_until_terminated(job_env) -> None:
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "conveyor"), "metrics",
                               "serve", "--port", str(port)], env=job_env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=5) as answer:
                    body = answer.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "metrics serve never answered"
                time.sleep(0.1)
        samples = _samples(body)
        assert samples["conveyor_database_up"][()] == 1
        assert samples["conveyor_broker_up"][()] == 1
        assert _listening_address(port) == "127.0.0.1"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
