"""`chirality validate-run RUN_DIR`: the consumer's check as a command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("chirality", *args, env=dict(os.environ), cwd=cwd)


@pytest.fixture
def run(runs_root: Path, problem_file: Path) -> Path:
    made = cli(runs_root, "compute-pipeline", "--resolver", "echo", "--snapshot-jsonl",
               "--out", "runs/v1", "--problem-file", str(problem_file))
    assert made.returncode == 0, made.stderr
    return runs_root / "runs" / "v1"


def test_a_produced_run_is_valid(run: Path) -> None:
    result = cli(run.parent.parent, "validate-run", "runs/v1", "--strict")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "valid": True, "run_id": "v1", "framework_schema_version": "1.0.0",
        "matrices": {"C": {"records": 12}, "D": {"records": 12}, "X": {"records": 16},
                     "E": {"records": 9}}, "warnings": []}
    assert len(result.stdout.splitlines()) == 1


def test_a_tampered_snapshot_is_exit_1_with_the_problems(run: Path) -> None:
    snapshot = run / "snapshots" / "D.jsonl"
    snapshot.write_bytes(snapshot.read_bytes().replace(b"Direction", b"Directive", 1))
    result = cli(run, "validate-run", str(run))
    assert result.returncode == 1 and result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "RUN_INVALID"
    assert any("sha256" in p for p in error["details"]["problems"])


def test_a_newer_minor_version_is_accepted_with_a_warning(run: Path) -> None:
    manifest = json.loads((run / "index.json").read_text())
    manifest["framework_schema_version"] = "1.4.0"
    (run / "index.json").write_text(json.dumps(manifest))
    result = cli(run, "validate-run", str(run))
    assert result.returncode == 0
    [warning] = json.loads(result.stdout)["warnings"]
    assert "1.4.0 is newer than 1.0.0: accepted" in warning
    assert "warning: framework_schema_version 1.4.0 is newer" in result.stderr


def test_a_newer_major_version_is_rejected_with_what_to_do(run: Path) -> None:
    manifest = json.loads((run / "index.json").read_text())
    manifest["framework_schema_version"] = "2.0.0"
    (run / "index.json").write_text(json.dumps(manifest))
    result = cli(run, "validate-run", str(run))
    assert result.returncode == 1
    assert "upgrade the consumer" in json.loads(result.stderr)["error"]["message"]


def test_a_folder_that_does_not_exist_is_exit_2(tmp_path: Path) -> None:
    result = cli(tmp_path, "validate-run", "runs/nope")
    assert result.returncode == 2
    assert json.loads(result.stderr)["error"]["code"] == "INVALID_ARGUMENTS"


def test_a_name_too_long_for_the_file_system_is_exit_2(tmp_path: Path) -> None:
    # is_dir() raised ENAMETOOLONG, which ended as INTERNAL_ERROR (exit 1).
    result = cli(tmp_path, "validate-run", "x" * 5000)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stderr)["error"]["code"] == "INVALID_ARGUMENTS"
