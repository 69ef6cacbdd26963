"""`conveyor up`'s supervisor heals the stack: a SIGKILLed worker or Redis is restarted,
`conveyor status` says so, and `conveyor check` passes again without a command. While
Redis is down, CLIs stay on the stack (never "embedded")."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.processes import ProcessRef, start_ticks_of
from tests.support.cli import json_out, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEAL_WITHIN_S = 20.0


@pytest.fixture
def stack_env(conveyor_home: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "CONVEYOR_STACK_CONCURRENCY": "2"}
    up = run_cli("conveyor", "up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        yield env
    finally:
        down = run_cli("conveyor", "down", env=env)
        assert down.returncode == 0, down.stderr


def _component(env: dict[str, str], name: str) -> dict[str, Any]:
    status = json_out(run_cli("conveyor", "status", env=env))
    return next(c for c in status["components"] if c["name"] == name)


def _until_check_passes(env: dict[str, str]) -> tuple[float, Counter[str]]:
    killed = time.monotonic()
    seen: Counter[str] = Counter()
    while time.monotonic() - killed < HEAL_WITHIN_S:
        check = run_cli("conveyor", "check", "--timeout", "5", env=env)
        report = json_out(check)
        seen[f"mode={report['mode']}"] += 1
        if check.returncode == 0:
            return time.monotonic() - killed, seen
        time.sleep(0.2)
    pytest.fail(f"check did not pass within {HEAL_WITHIN_S:g} s: {seen}")


@pytest.mark.parametrize("victim", ["worker-ops", "redis"])
def test_a_killed_component_is_restarted_and_check_passes_again(
        stack_env: dict[str, str], victim: str) -> None:
    before = _component(stack_env, victim)
    os.kill(before["pid"], signal.SIGKILL)
    took, seen = _until_check_passes(stack_env)
    assert set(seen) == {"mode=stack"}, seen  # never a silent switch to embedded
    after = _component(stack_env, victim)
    assert after["alive"] and after["pid"] != before["pid"]
    assert after["restarts"] == before["restarts"] + 1
    assert after["last_exit"] == -signal.SIGKILL
    print(f"stack heals: {victim} SIGKILLed, check passes again after {took:.1f} s "
          f"({sum(seen.values())} checks)")


def test_a_stack_without_its_redis_is_unavailable_not_embedded(
        stack_env: dict[str, str]) -> None:
    supervisor, redis = _component(stack_env, "supervisor"), _component(stack_env, "redis")
    os.kill(supervisor["pid"], signal.SIGKILL)  # nobody restarts Redis now
    os.kill(redis["pid"], signal.SIGKILL)
    check = run_cli("conveyor", "check", "--queue", "default", "--timeout", "3", env=stack_env)
    assert check.returncode == 3, check.stdout + check.stderr
    report = json_out(check)
    assert report["mode"] == "stack"
    assert report["queues"][0]["reason"] == "broker_unavailable"
    status = json_out(run_cli("conveyor", "status", env=stack_env))
    assert status["running"] is False and status["mode"] == "stack"
    assert not _component(stack_env, "redis")["alive"]


REDIS_DEAD_S = 8.0
"""Long enough for every component's broker retries to back off to seconds-long sleeps."""
DOWN_HANG_S = 15.0
"""Not a benchmark: catches a `down` that hangs (before the fix it waited on Flower,
then on each component in turn; see docs/conveyor.md)."""


def test_down_with_redis_dead_is_prompt_and_leaves_no_process(
        stack_env: dict[str, str]) -> None:
    status = json_out(run_cli("conveyor", "status", env=stack_env))
    refs = {c["name"]: ProcessRef(pid=c["pid"], start_ticks=start_ticks_of(c["pid"]))
            for c in status["components"]}
    os.kill(refs["supervisor"].pid, signal.SIGKILL)  # nobody restarts Redis now
    os.kill(refs["redis"].pid, signal.SIGKILL)
    time.sleep(REDIS_DEAD_S)
    started = time.monotonic()
    down = run_cli("conveyor", "down", env=stack_env)
    took = time.monotonic() - started
    assert down.returncode == 0, down.stderr
    assert [name for name, ref in refs.items() if ref.is_alive()] == []
    assert took < DOWN_HANG_S, f"down took {took:.1f} s"
    print(f"stack down: Redis dead {REDIS_DEAD_S:g} s, down stopped "
          f"{', '.join(json_out(down)['stopped'])} in {took:.1f} s")
