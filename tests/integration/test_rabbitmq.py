"""RabbitMQ as the broker, with nothing else configured: check, queues, redelivery.

Runs against the RabbitMQ on this machine (127.0.0.1:5672, guest/guest) in a vhost of
this test session's own, created with rabbitmqctl and deleted afterwards; skipped
with the reason when no RabbitMQ answers.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import reset_settings
from store import jobs
from tests.support.cli import json_out, run_cli
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.integration

AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672


def _rabbitmq_unavailable() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    try:
        socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=2).close()
    except OSError as exc:
        return f"no RabbitMQ answers at {AMQP_HOST}:{AMQP_PORT}: {exc}"
    return None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_vhost() -> Iterator[str]:
    reason = _rabbitmq_unavailable()
    if reason:
        pytest.skip(reason)
    vhost = f"conveyor-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield vhost
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def amqp_env(amqp_vhost: str, conveyor_home: Path, monkeypatch: pytest.MonkeyPatch
             ) -> dict[str, str]:
    """Only the broker (and the test tasks): the result backend is left to its default."""
    import os

    env = {"CONVEYOR_HOME": str(conveyor_home),
           "CONVEYOR_BROKER_URL": f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{amqp_vhost}",
           "CONVEYOR_EXTRA_TASK_MODULES": "tests.support.tasks",
           "CONVEYOR_NO_WORKER_GRACE_S": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    return {**os.environ, **env}


def _wait_consuming(app: Any, queues: list[str], worker: WorkerProcess) -> None:
    from cli.amqp_consumers import AmqpConsumers

    consumers = AmqpConsumers(app)
    deadline = time.monotonic() + 60
    try:
        while not all(consumers.count(q) for q in queues):
            assert worker.process is not None and worker.process.poll() is None, worker.log()
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.1)
    finally:
        consumers.close()


@pytest.fixture
def amqp_worker(amqp_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    from config.celery_app import create_app

    started: list[WorkerProcess] = []
    app = create_app()

    def start(queues: list[str]) -> WorkerProcess:
        worker = WorkerProcess(amqp_env, queues, tmp_path).start()
        started.append(worker)
        _wait_consuming(app, queues, worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    app.close()


def test_check_says_no_worker_then_passes_once_a_worker_runs(
        amqp_env: dict[str, str], amqp_worker: Any) -> None:
    none = run_cli("conveyor", "check", "--queue", "default", "--timeout", "5", env=amqp_env)
    assert none.returncode == 3, none.stdout + none.stderr
    assert json_out(none)["queues"][0]["reason"] == "no_worker"

    amqp_worker(["default", "sweeps"])
    check = run_cli("conveyor", "check", "--queue", "default", "--queue", "sweeps",
                    "--timeout", "20", env=amqp_env)
    assert check.returncode == 0, check.stdout + check.stderr
    report = json_out(check)
    assert report["mode"] == "configured" and report["broker"].startswith("amqp://guest:***@")
    # A CLI's job through RabbitMQ: the sweeps queue's prune job, with its result.
    prune = run_cli("conveyor", "jobs", "prune", "--timeout", "20", env=amqp_env)
    assert prune.returncode == 0, prune.stderr
    assert json_out(prune)["deleted"] == 0


def test_queues_are_durable_quorum_queues(amqp_vhost: str, amqp_worker: Any) -> None:
    amqp_worker(["default"])
    listed = subprocess.run(["rabbitmqctl", "list_queues", "-p", amqp_vhost, "-q",
                             "--formatter", "json", "name", "type", "durable"],
                            check=True, capture_output=True, text=True, timeout=60)
    import json

    queues = {q["name"]: q for q in json.loads(listed.stdout)}
    assert queues["default"]["type"] == "quorum" and queues["default"]["durable"] is True


def test_a_sigkilled_workers_job_is_redelivered_and_completed(
        amqp_env: dict[str, str], amqp_worker: Any, tmp_path: Path) -> None:
    from cli.jobs_client import JobClient
    from config.celery_app import create_app

    marker = tmp_path / "marker"
    marker.mkdir()
    first = amqp_worker(["default"])
    app = create_app()
    client = JobClient(app)
    job = client.submit("tests.support.tasks.blocking", {"marker_dir": str(marker)})
    deadline = time.monotonic() + 30
    while not ((marker / "log").exists() and "started" in (marker / "log").read_text()):
        assert time.monotonic() < deadline, first.log()
        time.sleep(0.02)
    first.kill(signal.SIGKILL)
    (marker / "release").touch()
    started = time.monotonic()
    amqp_worker(["default"])
    assert client.wait(job, timeout_s=60) == {"ok": True}
    redelivered_after_s = time.monotonic() - started
    row = jobs.get_job(job.job_id)
    assert row is not None and (row["status"], row["attempts"]) == ("succeeded", 2)
    print(f"rabbitmq: killed worker's job redelivered and done {redelivered_after_s:.1f} s "
          f"after a new worker started")
    app.close()


def test_a_retry_with_a_countdown_goes_through_rabbitmq(
        amqp_worker: Any, amqp_env: dict[str, str]) -> None:
    from cli.jobs_client import JobClient
    from config.celery_app import create_app

    amqp_worker(["default"])
    app = create_app()
    client = JobClient(app)
    job = client.submit("tests.support.tasks.flaky", {"fail_times": 1})
    assert client.wait(job, timeout_s=60) is not None
    row = jobs.get_job(job.job_id)
    assert row is not None and (row["status"], row["attempts"]) == ("succeeded", 2)
    app.close()


def test_a_worker_on_another_database_is_a_database_mismatch(
        amqp_env: dict[str, str], tmp_path: Path) -> None:
    from config.celery_app import create_app

    other = {**amqp_env, "CONVEYOR_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    worker = WorkerProcess(other, ["default"], tmp_path).start()
    app = create_app()
    try:
        _wait_consuming(app, ["default"], worker)
        check = run_cli("conveyor", "check", "--queue", "default", "--timeout", "20",
                        env=amqp_env)
    finally:
        worker.stop()
        app.close()
    assert check.returncode == 3, check.stdout + check.stderr
    entry = json_out(check)["queues"][0]
    assert entry["ok"] is False and entry["reason"] == "database_mismatch"


def test_contract_clis_run_through_rabbitmq(amqp_env: dict[str, str],
                                            amqp_worker: Any) -> None:
    """The exam contract's job-backed commands and oord's agent scan, end to end, with only
    CONVEYOR_BROKER_URL=amqp://... set: each prints its contract's JSON and its job's row
    (read by `conveyor jobs show`, another process) says it succeeded on that worker."""
    import uuid as uuid_module

    amqp_worker(["environments", "sweeps", "oord", "default"])
    user, session = str(uuid_module.uuid4()), str(uuid_module.uuid4())
    created = run_cli("session-lifecycle", "create", "--user-id", user, "--session-id",
                      session, "--duration-seconds", "1", env=amqp_env)
    assert created.returncode == 0, created.stderr
    environment = run_cli("execution-environment", "create", "--session-id", session,
                          "--timeout", "60", env=amqp_env)
    assert environment.returncode == 0, environment.stderr
    assert json_out(environment)["status"] == "running"
    time.sleep(2.2)  # a ready session is abandoned after twice its duration: the sweep ends it
    swept = run_cli("cleanup-ttl", "sweep", "--timeout", "60", env=amqp_env)
    assert swept.returncode == 0, swept.stderr
    report = json_out(swept)
    assert report["cleaned_session_ids"] == [session] and report["sessions_checked"] >= 1
    scan = run_cli("oord", "agent", "scan", "--timeout", "60", env=amqp_env)
    assert scan.returncode == 0, scan.stderr
    assert set(json_out(scan)) == {"sender", "receiver"}

    listed = run_cli("conveyor", "jobs", "list", "--json", env=amqp_env)
    assert listed.returncode == 0, listed.stderr
    kinds = {}
    for row in json_out(listed):
        kinds.setdefault(row["kind"], []).append(row)
    for kind in ("tasks.environments.create", "tasks.sweeps.exam_cleanup_ttl",
                 "tasks.environments.destroy", "tasks.oord.scan_outgoing",
                 "tasks.oord.scan_incoming"):
        assert kind in kinds, sorted(kinds)
        for row in kinds[kind]:
            shown = json_out(run_cli("conveyor", "jobs", "show", row["id"], env=amqp_env))
            assert (shown["status"], shown["attempts"]) == ("succeeded", 1), shown
            assert shown["worker"], shown
