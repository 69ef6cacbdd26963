"""Submit-and-wait over Redis without Celery in the client (cli/redis_jobs.py).

A real worker (Celery, unchanged) takes the jobs this client publishes in Celery's
message format, and its result backend's messages are what the client hears.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.jobs_client import JobClient
from common.errors import ContractError, JobSystemError
from store import jobs
from tests.support.redis import RedisServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_cli_process_submits_and_waits_with_no_celery_imported(
        start_worker: Any, job_env: dict[str, str]) -> None:
    start_worker(["default"])
    script = (
        "import json, sys\n"
        "from cli.jobs_client import JobClient\n"
        "client = JobClient()\n"
        "job = client.submit('tasks.probe.probe', {'sent_at': 1.0, 'marker': 'm1'})\n"
        "result = client.wait(job, timeout_s=30)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('celery', 'kombu', 'redis', 'amqp', 'billiard'))\n"
        "print(json.dumps({'job_id': job.job_id, 'result': result, 'heavy': heavy}))\n")
    done = subprocess.run([sys.executable, "-c", script], env=job_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["heavy"] == []
    assert answer["result"]["ok"] is True and answer["result"]["marker"] == "m1"
    row = jobs.get_job(answer["job_id"])
    assert row is not None and (row["status"], row["attempts"]) == ("succeeded", 1)
    assert row["args"] == {"args": [], "kwargs": {"sent_at": 1.0, "marker": "m1"}}


def test_results_of_other_jobs_are_kept_while_one_is_awaited(start_worker: Any,
                                                             job_env: dict[str, str]) -> None:
    start_worker(["default"])
    client = JobClient()
    submitted = [client.submit("tasks.probe.probe", {"sent_at": 1.0, "marker": f"m{n}"})
                 for n in range(5)]
    for n, job in reversed(list(enumerate(submitted))):
        assert client.wait(job, timeout_s=30)["marker"] == f"m{n}"


def test_a_refusal_and_a_crash_come_back_as_the_celery_path_gives_them(
        start_worker: Any, job_env: dict[str, str]) -> None:
    start_worker(["default"])
    client = JobClient()
    refused = client.submit("tests.support.tasks.refuse", {"code": "NOPE", "exit_code": 7})
    with pytest.raises(ContractError) as caught:
        client.wait(refused, timeout_s=30)
    assert (caught.value.code, caught.value.exit_code) == ("NOPE", 7)
    crashed = client.submit("tests.support.tasks.crash", {})
    with pytest.raises(JobSystemError) as crash:
        client.wait(crashed, timeout_s=30)
    assert crash.value.reason == "job_crashed"
    assert crash.value.details == {"job_id": crashed.job_id}


def test_a_lost_connection_reads_the_outcome_from_the_jobs_table(
        start_worker: Any, job_env: dict[str, str], redis_db: RedisServer,
        tmp_path: Path) -> None:
    start_worker(["default"])
    (tmp_path / "effects").mkdir()
    client = JobClient()
    line = client._line
    assert line is not None
    job = client.submit("tests.support.tasks.effect",
                        {"marker_dir": str(tmp_path), "key": "k1", "sleep_ms": 300})
    assert line.wire._sock is not None
    host, port = line.wire._sock.getsockname()[:2]
    assert redis_db.client(0).client_kill(f"{host}:{port}")  # the subscription is gone
    assert client.wait(job, timeout_s=30) == {"key": "k1"}
    row = jobs.get_job(job.job_id)
    assert row is not None and row["status"] == "succeeded"


def test_a_broker_that_is_not_there_is_broker_unavailable(job_env: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from config.settings import reset_settings
    from workers.ports import free_port

    nowhere = f"redis://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CONVEYOR_BROKER_URL", f"{nowhere}/0")
    monkeypatch.setenv("CONVEYOR_RESULT_BACKEND", f"{nowhere}/1")
    reset_settings()
    client = JobClient()
    assert client._line is not None
    with pytest.raises(JobSystemError) as caught:
        client.submit("tasks.probe.probe", {"sent_at": 1.0}, require_worker=False)
    assert caught.value.reason == "broker_unavailable"
    assert nowhere in str(caught.value)


def test_threads_sharing_one_client_each_get_their_own_results(
        start_worker: Any, job_env: dict[str, str]) -> None:
    import threading

    start_worker(["default"])
    client = JobClient()
    outcomes: dict[int, list[str]] = {}

    def submit_and_wait(thread: int) -> None:
        outcomes[thread] = [
            client.wait(client.submit("tasks.probe.probe",
                                      {"sent_at": 1.0, "marker": f"t{thread}-{n}"}),
                        timeout_s=30)["marker"] for n in range(15)]

    threads = [threading.Thread(target=submit_and_wait, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == {t: [f"t{t}-{n}" for n in range(15)] for t in range(4)}


def test_a_job_nobody_waits_for_is_not_listened_for(start_worker: Any,
                                                    job_env: dict[str, str]) -> None:
    """--no-wait: an unheard subscription would pile results up in the connection."""
    start_worker(["default"])
    client = JobClient()
    line = client._line
    assert line is not None
    job = client.submit("tasks.probe.probe", {"sent_at": 1.0, "marker": "nw"},
                        will_wait=False)
    assert job.job_id not in line._listening
    assert line.wire.execute("PUBSUB", "NUMSUB", f"celery-task-meta-{job.job_id}")[1] == 0
    # Waiting all the same still works: the outcome comes from the jobs table.
    assert client.wait(job, timeout_s=30)["marker"] == "nw"
