"""A read-only or full CONVEYOR_HOME: a clear error naming the path and the OS error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import json_err, run_cli
from tests.support.tmpfs import small_tmpfs

pytestmark = pytest.mark.integration

COMMANDS = [("check", "--queue", "default", "--timeout", "5"), ("jobs", "list")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_read_only_home_is_a_settings_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    with small_tmpfs(tmp_path / "home", size_kib=256) as disk:
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk.root)],
                                   capture_output=True, text=True, check=False)
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")
        env = {**os.environ, "CONVEYOR_HOME": str(disk.root)}
        result = run_cli("conveyor", *command, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    error = json_err(result)
    assert error["code"] == "INVALID_ARGUMENTS"
    assert str(disk.root) in error["message"] and "Read-only file system" in error["message"]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_full_home_is_the_system_unable_to_serve(tmp_path: Path,
                                                   command: tuple[str, ...]) -> None:
    with small_tmpfs(tmp_path / "home", size_kib=256) as disk:
        disk.fill(leave_bytes=0)
        env = {**os.environ, "CONVEYOR_HOME": str(disk.root)}
        result = run_cli("conveyor", *command, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    error = json_err(result)
    assert error["code"] == "JOB_SYSTEM_UNAVAILABLE"
    assert error["details"]["reason"] == "disk_full"
    assert str(disk.root) in error["message"]
