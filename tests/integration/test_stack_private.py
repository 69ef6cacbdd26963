"""The local stack on a shared host: private files, Flower behind a login, rotating logs;
and the operator's commands (retry, list filters, metrics) against it."""

from __future__ import annotations

import base64
import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import json_out, run_cli, start_submit_and_wait
from workers.stack import flower_installed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_BYTES = 1024


def _status(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _check_private(home: Path) -> None:
    assert _mode(home) == 0o700
    for path in home.rglob("*"):
        if "appendonly" in path.parts:
            continue  # Redis' own files, inside the 0700 redis folder
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, f"{path} is {oct(_mode(path))}"
    for name in ("conveyor.db", "conveyor.db-wal", "conveyor.db-shm", "logs/cli.log",
                 "stack/stack.json", "stack/logs/worker-ops.log", "stack/logs/beat.log"):
        assert (home / name).exists(), name


def _retry_and_list(env: dict[str, str]) -> None:
    waiter = start_submit_and_wait("tests.support.tasks.refuse",
                                   {"code": "NOPE", "exit_code": 3}, env)
    waiter.communicate(timeout=60)
    failed = json_out(run_cli("conveyor", "jobs", "list", "--status", "failed", "--queue",
                              "default", "--since", "5m", "--error", "refused", "--json",
                              env=env))
    assert len(failed) == 1
    retried = json_out(run_cli("conveyor", "jobs", "retry", failed[0]["id"], "--wait",
                               "--timeout", "60", env=env))
    assert retried["status"] == "failed" and retried["retry_of"] == failed[0]["id"]


def _metrics(env: dict[str, str]) -> None:
    result = run_cli("conveyor", "metrics", env=env)
    assert result.returncode == 0, result.stderr
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(result.stdout) for s in f.samples}
    assert samples[("conveyor_broker_up", ())] == 1
    for queue in ("default", "pipelines", "oord", "sweeps", "environments"):
        assert samples[("conveyor_queue_consumers", (("queue", queue),))] == 1
    assert samples[("conveyor_jobs", (("kind", "tests.support.tasks.refuse"),
                                      ("status", "failed")))] == 2


def test_the_stack_is_private_and_its_logs_rotate(conveyor_home: Path) -> None:
    env = {**os.environ, "CONVEYOR_LOG_MAX_BYTES": str(MAX_BYTES), "CONVEYOR_LOG_BACKUPS": "2",
           "CONVEYOR_EXTRA_TASK_MODULES": "tests.support.tasks"}
    up = run_cli("conveyor", "up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        status = json_out(run_cli("conveyor", "status", env=env))
        if flower_installed():
            url, login = status["flower_url"], status["flower_auth"]
            assert login["user"] == "conveyor" and len(login["password"]) >= 24
            assert _status(f"{url}/api/workers") == 401
            assert _status(f"{url}/") == 401
            assert _status(f"{url}/api/workers", ("conveyor", "wrong")) == 401
            assert _status(f"{url}/api/workers", (login["user"], login["password"])) == 200
            flower_pid = next(c["pid"] for c in status["components"] if c["name"] == "flower")
            assert login["password"] not in Path(f"/proc/{flower_pid}/cmdline").read_text()
        _retry_and_list(env)
        _metrics(env)
        for _ in range(4):  # probe jobs: their lines fill worker-ops.log past its size
            assert run_cli("conveyor", "check", env=env).returncode == 0
        _check_private(conveyor_home)
        logs = conveyor_home / "stack" / "logs"
        rotated = sorted(p.name for p in logs.iterdir() if p.name.startswith("worker-ops.log"))
        assert rotated == ["worker-ops.log", "worker-ops.log.1", "worker-ops.log.2"]
        for path in logs.glob("*.log*"):
            assert path.stat().st_size <= 2 * MAX_BYTES, path  # one record may overshoot
        lines = [json.loads(line) for line in (logs / "worker-ops.log").read_text().splitlines()]
        assert lines and all("level" in line for line in lines)
    finally:
        down = run_cli("conveyor", "down", env=env)
    assert down.returncode == 0, down.stderr
