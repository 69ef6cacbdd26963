"""Fixtures for the agent's worker tests: oord settings for workers and this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.oord import OordSettings, get_oord_settings
from store import oord as state
from tests.support.oord import make_keys
from tests.support.redis import RedisServer
from tests.support.workers import WorkerProcess

# Short leases so a killed worker's claim expires within the tests' patience.
TEST_LEASE_S = "2"


@pytest.fixture
def oord_env(job_env: dict[str, str], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    keys = make_keys(tmp_path / "keys")
    extra = {"OORD_STATE_DIR": str(tmp_path / "oord"), "OORD_SETTLE_SECONDS": "0",
             "OORD_LEASE_S": TEST_LEASE_S, **keys.env()}
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return {**job_env, **extra}


@pytest.fixture
def oord_settings(oord_env: dict[str, str]) -> OordSettings:
    return get_oord_settings()


@pytest.fixture
def oord_worker(oord_env: dict[str, str], redis_db: RedisServer,
                tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """oord_worker(pause_dir=None) -> a ready worker on the oord queue; all stopped at the end.

    With pause_dir, the worker stops at the agent's test-only pause points until released.
    """
    started: list[WorkerProcess] = []

    def start(*, pause_dir: Path | None = None, **options: Any) -> WorkerProcess:
        env = {**oord_env, **({"OORD_TEST_PAUSE_DIR": str(pause_dir)} if pause_dir else {})}
        worker = WorkerProcess(env, ["oord"], tmp_path, **options).start()
        started.append(worker)
        return worker.wait_ready(redis_db.client(), lease_renew_s=0.5)

    yield start
    for worker in started:
        worker.stop()


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row_in(role: str, key: str, *states: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        row = state.get_row(role, key)
        return row if row is not None and row["state"] in states else None

    return check
