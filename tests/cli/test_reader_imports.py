"""The store-reading CLIs import no heavy package: `python -X importtime` of each.

Not timed (the benchmark, bench/cold_cli.py, times them): this checks what each
command loads, which is what its cold start is made of. The stores exist already (the
first call of a fresh home migrates, and may import Alembic and SQLAlchemy for that:
checked separately below).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
USER = "550e8400-e29b-41d4-a716-446655440000"
BIN = Path(sys.executable).parent
# None of these belongs on a read path (the Kubernetes client only where a pod is asked).
HEAVY = {"sqlalchemy", "alembic", "celery", "kombu", "kubernetes", "openai", "cryptography"}
READERS = {
    "session-lifecycle status": (["session-lifecycle", "status", "--session-id", SESSION], 4),
    "session-status get": (["session-status", "get", "--session-id", SESSION], 4),
    "environment-access authorize": (["environment-access", "authorize", "--session-id",
                                      SESSION, "--user-id", USER], 5),
    "cleanup-ttl check": (["cleanup-ttl", "check", "--session-id", SESSION], 4),
    "execution-environment status": (["execution-environment", "status", "--session-id",
                                      SESSION], 4),
    "conveyor jobs list": (["conveyor", "jobs", "list", "--json"], 0),
    "conveyor jobs show": (["conveyor", "jobs", "show", "no-such-job"], 4),
    "synora package list": (["synora", "package", "list", "--json"], 0),
}


def _run(argv: list[str], home: Path, *python_flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVEYOR_HOME": str(home / "conveyor"),
           "SYNORA_HOME": str(home / "synora")}
    return subprocess.run([sys.executable, *python_flags, str(BIN / argv[0]), *argv[1:]],
                          env=env, cwd=home, capture_output=True, text=True, timeout=60,
                          check=False)


def imported_packages(importtime_stderr: str) -> set[str]:
    """Top-level package names from `python -X importtime` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_importtime_parser_sees_packages() -> None:
    # The check below is only as good as the parser: it must see a package imported.
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import sqlite3"],
                            capture_output=True, text=True, check=True)
    assert {"sqlite3", "_sqlite3"} <= imported_packages(result.stderr)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder whose stores the first calls created and migrated."""
    home = tmp_path_factory.mktemp("readers")
    for argv, _ in READERS.values():
        _run(argv, home)
    return home


@pytest.mark.parametrize("label", sorted(READERS))
def test_reader_imports_no_heavy_package(label: str, home: Path) -> None:
    argv, exit_code = READERS[label]
    result = _run(argv, home, "-X", "importtime")
    assert result.returncode == exit_code, result.stderr[-2000:]
    assert imported_packages(result.stderr) & HEAVY == set()


def test_first_call_migrates_then_reads(tmp_path: Path) -> None:
    """A fresh home: the reader migrates the store (Alembic, behind the file lock), then
    answers; a stale fingerprint migrates again."""
    result = _run(["conveyor", "jobs", "list", "--json"], tmp_path, "-X", "importtime")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    assert "alembic" in imported_packages(result.stderr)
    import sqlite3

    from store.schema_stamp import schema_fingerprint

    db = tmp_path / "conveyor" / "conveyor.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_fingerprint()
        conn.execute("PRAGMA user_version = 1")
    again = _run(["conveyor", "jobs", "list", "--json"], tmp_path, "-X", "importtime")
    assert again.returncode == 0 and "alembic" in imported_packages(again.stderr)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_fingerprint()
