"""Running the exam console scripts as a user does (embedded mode: no broker, no stack)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli

USER = "550e8400-e29b-41d4-a716-446655440000"
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def exam(conveyor_home: Path) -> Iterator[Run]:
    """exam("session-lifecycle", "status", ...) -> the finished process."""
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env={**os.environ, **env})

    yield run
    # Whatever a test left running (local environments) is stopped with its state folder.
    from domain.exam.backends.local import _read_ref, _stop

    root = conveyor_home / "exam" / "environments"
    for pid_file in root.glob("*/*/pid") if root.exists() else []:
        ref = _read_ref(pid_file.parent)
        if ref is not None and ref.is_alive():
            _stop(ref)
