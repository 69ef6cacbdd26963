"""Fixtures for the oord CLI tests: the real console script, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.oord import SAMPLE_FILES, make_tree

Oord = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def oord(conveyor_home: Path) -> Oord:
    """oord(*args, home=None, input_text=None): run the console script in a state folder."""
    def run(*args: str, home: Path | None = None,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if home is not None:
            env["CONVEYOR_HOME"] = str(home)
        return run_cli("oord", *args, env=env, input_text=input_text)

    return run


@pytest.fixture
def sealed_bundle(oord: Oord, tmp_path: Path) -> Path:
    """keys init, then seal the sample folder; the bundle's path."""
    assert oord("keys", "init").returncode == 0
    source = make_tree(tmp_path / "batch-7", SAMPLE_FILES)
    result = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["bundle_path"])


def error_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The error JSON on stderr; stdout must be empty."""
    assert result.stdout == "", result.stdout
    data: dict[str, Any] = json.loads(result.stderr.strip().splitlines()[-1])
    assert set(data) == {"error", "exit_code"} and set(data["error"]) == {
        "code", "message", "details"}
    assert data["exit_code"] == result.returncode
    assert "Traceback" not in result.stderr
    return data["error"]
