from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from config.connection import Mode, redact_url, resolve_connection, stack_state_file
from config.env import ConfigError
from config.processes import ProcessRef
from config.settings import load_settings


def test_nothing_configured_means_embedded() -> None:
    connection = resolve_connection(load_settings())
    assert connection.mode is Mode.EMBEDDED
    assert connection.is_embedded


def test_an_explicit_broker_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_BROKER_URL", "redis://127.0.0.1:1/0")
    connection = resolve_connection(load_settings())
    assert connection.mode is Mode.CONFIGURED
    assert connection.result_backend == "redis://127.0.0.1:1/0"


def _write_stack(home: Path, pid: int, start_ticks: int | None) -> None:
    path = stack_state_file(load_settings())
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "broker_url": "redis://127.0.0.1:7/0", "result_backend": "redis://127.0.0.1:7/1",
        "processes": {"redis": {"pid": pid, "start_ticks": start_ticks}}}))


def test_a_running_stack_is_found(conveyor_home: Path) -> None:
    _write_stack(conveyor_home, os.getpid(), ProcessRef.of(os.getpid()).start_ticks)
    connection = resolve_connection(load_settings())
    assert connection.mode is Mode.STACK
    assert connection.broker_url == "redis://127.0.0.1:7/0"


def test_a_stack_whose_redis_is_down_is_still_the_stack(conveyor_home: Path) -> None:
    # Its supervisor restarts Redis; CLIs wait or fail clearly, never switch to embedded.
    process = subprocess.Popen(["true"])
    process.wait()
    _write_stack(conveyor_home, process.pid, 1)
    connection = resolve_connection(load_settings())
    assert connection.mode is Mode.STACK
    assert connection.broker_url == "redis://127.0.0.1:7/0"


def test_a_corrupt_state_file_is_a_clear_error(conveyor_home: Path) -> None:
    path = stack_state_file(load_settings())
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="conveyor down"):
        resolve_connection(load_settings())


def test_only_the_broker_on_rabbitmq_means_rpc_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    connection = resolve_connection(load_settings())
    assert connection.is_amqp and not connection.is_redis
    assert connection.result_backend == "rpc://"


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:secret@host:6379/0", "redis://***@host:6379/0"),
    ("redis://user:secret@host/0", "redis://user:***@host/0"),
    ("redis://host:6379/0", "redis://host:6379/0"),
    ("memory://", "memory://"),
])
def test_passwords_never_show(url: str, shown: str) -> None:
    assert redact_url(url) == shown
