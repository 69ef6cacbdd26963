"""The agent's retries as a user sees them: `conveyor up`, then `conveyor jobs list`.

A batch with a symbolic link inside cannot be sealed. On the real local stack (its
Redis, its workers, its beat), its one job must show as `retrying` with attempts,
next_retry_at and last_error, then as `failed` after its last attempt; `oord agent
status` and `conveyor jobs show` must agree on the attempts; and the 5-second scans
must not leave a job row each time they find nothing. The attempt budget and the
backoff are shortened (OORD_AGENT_MAX_ATTEMPTS, OORD_AGENT_BACKOFF_BASE_S) to keep
the test fast; the rule is the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import json_out, run_cli
from tests.support.oord import make_keys, make_tree

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_ATTEMPTS = 4


@pytest.fixture
def stack_env(conveyor_home: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    keys = make_keys(tmp_path / "keys")
    env = {**os.environ, **keys.env(), "OORD_STATE_DIR": str(tmp_path / "oord"),
           "OORD_SETTLE_SECONDS": "0", "OORD_SEND_SCAN_EVERY_S": "1",
           "OORD_RECEIVE_SCAN_EVERY_S": "1", "OORD_AGENT_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
           "OORD_AGENT_BACKOFF_BASE_S": "1", "OORD_LEASE_S": "5"}
    try:
        yield env
    finally:
        down = run_cli("conveyor", "down", env=env)
        assert down.returncode == 0, down.stderr


def _poll(what: str, check: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _jobs(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = run_cli("conveyor", "jobs", "list", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return list(json_out(result))


def test_a_batch_with_a_symlink_retries_as_one_job_then_fails(
        stack_env: dict[str, str], tmp_path: Path) -> None:
    env = stack_env
    watch = tmp_path / "oord" / "watch"
    make_tree(watch / "linked", {"a.txt": b"payload\n"})
    os.symlink("/etc/hostname", watch / "linked" / "outside")
    up = run_cli("conveyor", "up", env=env)
    assert up.returncode == 0, up.stderr
    started = time.monotonic()

    # Within a minute: one seal job, retrying, with its retry metadata
    def retrying() -> dict[str, Any] | None:
        rows = [j for j in _jobs(env, "--status", "retrying", "--kind", "tasks.oord.seal_batch")
                if j["attempts"] >= 2]
        return rows[0] if rows else None

    job = _poll("the seal job retrying", retrying, timeout_s=60)
    assert time.monotonic() - started < 60
    assert job["next_retry_at"] and "symbolic link" in job["last_error"]
    assert job["last_exit_code"] == 2

    # Then failed after its last attempt: one job for the batch, never `succeeded`
    def failed() -> dict[str, Any] | None:
        rows = _jobs(env, "--status", "failed", "--kind", "tasks.oord.seal_batch")
        return rows[0] if rows else None

    final = _poll("the seal job failed", failed, timeout_s=60)
    assert final["id"] == job["id"] and final["attempts"] == MAX_ATTEMPTS
    assert final["last_exit_code"] == 2 and "symbolic link" in final["last_error"]
    assert [j["id"] for j in _jobs(env, "--kind", "tasks.oord.seal_batch")] == [final["id"]]
    # And `oord agent status` agrees with `conveyor jobs show` on the attempts
    status = json_out(run_cli("oord", "agent", "status", "--json", env=env))
    batch = next(b for b in status["batches"] if b["batch_id"] == "batch-linked")
    shown = json_out(run_cli("conveyor", "jobs", "show", final["id"], env=env))
    assert (batch["state"], batch["attempts"], batch["last_exit_code"]) == \
        ("failed", shown["attempts"], shown["last_exit_code"])

    # Idle scans (one a second each, for both roles) add no job rows
    scans_before = _scan_rows(env)
    time.sleep(3)
    assert _scan_rows(env) == scans_before
    assert scans_before <= 2  # the one scan that found the batch (and its cleanup)


def _scan_rows(env: dict[str, str]) -> int:
    return sum(len(_jobs(env, "--kind", kind, "--limit", "10000"))
               for kind in ("tasks.oord.scan_outgoing", "tasks.oord.scan_incoming"))
