"""`conveyor up|status|down`: the local stack as a user runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from config.processes import ProcessRef
from tests.support.cli import json_out, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _processes_with_home(home: Path) -> list[int]:
    """Pids of live processes whose environment names this state folder."""
    needle = f"CONVEYOR_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ and ProcessRef.of(int(entry.name)).is_alive():
            found.append(int(entry.name))
    return found


def test_up_check_down_leaves_nothing_behind(conveyor_home: Path) -> None:
    env = dict(os.environ)
    bystander = subprocess.Popen(["sleep", "120"], start_new_session=True, env=env)
    try:
        up = run_cli("conveyor", "up", env=env)
        assert up.returncode == 0, up.stderr
        status = json_out(up)
        names = {c["name"] for c in status["components"]}
        assert {"redis", "worker-ops", "worker-pipelines", "beat"} <= names
        assert all(c["alive"] for c in status["components"])
        pids = {c["name"]: c["pid"] for c in status["components"]}

        again = json_out(run_cli("conveyor", "up", env=env))
        assert {c["name"]: c["pid"] for c in again["components"]} == pids  # one stack, one beat

        check = run_cli("conveyor", "check", env=env)
        assert check.returncode == 0, check.stderr
        report = json_out(check)
        assert report["mode"] == "stack" and report["ok"] is True

        shown = json_out(run_cli("conveyor", "status", env=env))
        assert shown["running"] is True and shown["mode"] == "stack"
    finally:
        down = run_cli("conveyor", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert set(json_out(down)["stopped"]) == set(pids)
    assert "supervisor" in pids
    assert _processes_with_home(conveyor_home) == [bystander.pid]
    assert bystander.poll() is None  # nothing else was touched
    bystander.kill()
    bystander.wait()
    assert json_out(run_cli("conveyor", "status", env=env))["running"] is False
