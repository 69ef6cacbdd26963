"""Helpers for Synora's tests: package trees, byte-exact snapshots, the CLI, the audit rows."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli

# A small package: nested folders, an empty folder, odd modes, a binary file.
SAMPLE_TREE: dict[str, bytes] = {
    "bin/tool": b"#!/bin/sh\necho tool\n",
    "lib/libtool.so": bytes(range(256)) * 8,
    "share/doc/README": b"Read me.\n",
    "share/doc/deep/er/note.txt": b"deep\n",
    "etc/tool.conf": b"key = value\n",
    "empty-file": b"",
}
SAMPLE_EMPTY_DIRS = ("var/cache",)


def make_tree(root: Path, files: dict[str, bytes] | None = None,
              empty_dirs: tuple[str, ...] = SAMPLE_EMPTY_DIRS) -> Path:
    """Write ``files`` (relative path -> bytes) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in (SAMPLE_TREE if files is None else files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel in empty_dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    if (root / "bin/tool").exists():
        (root / "bin/tool").chmod(0o755)
    return root


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    """Every entry below ``root``: kind, permission bits and bytes (lstat, no following)."""
    result: dict[str, tuple[str, int, bytes | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                result[rel] = ("link", 0, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = ("dir", stat.S_IMODE(st.st_mode), None)
            else:
                result[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return result


@dataclass
class Synora:
    """Runs the `synora` console script as a process against one SYNORA_HOME."""

    home: Path
    env: dict[str, str]

    def run(self, *args: str, extra_env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return run_cli("synora", *args, env={**self.env, **(extra_env or {})})

    def json(self, *args: str, extra_env: dict[str, str] | None = None
             ) -> tuple[int, dict[str, Any]]:
        result = self.run(*args, "--json", extra_env=extra_env)
        assert result.stdout.strip(), f"no stdout (exit {result.returncode}): {result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, json.loads(result.stdout)

    def add(self, package_id: str, install_path: Path, *, risk: str = "medium",
            name: str | None = None) -> dict[str, Any]:
        code, package = self.json("package", "add", "--id", package_id, "--name",
                                  name or package_id, "--version", "1.0", "--install-path",
                                  str(install_path), "--risk", risk)
        assert code == 0, package
        return package

    def faults(self, spec: str) -> dict[str, str]:
        return {"SYNORA_TESTING": "1", "SYNORA_FAULTS": spec}

    @property
    def db_path(self) -> Path:
        return self.home / "db" / "synora.db"

    def history(self, operation_id: str | None = None) -> list[Any]:
        """update_history rows in the order they were written, read through the ORM."""
        from sqlalchemy import select

        from store.models.synora import UpdateHistory
        from store.synora_db import read_session

        query = select(UpdateHistory).order_by(UpdateHistory.id)
        if operation_id is not None:
            query = query.where(UpdateHistory.operation_id == operation_id)
        with read_session(self.db_path) as session:
            return list(session.scalars(query))

    def entries(self, operation_id: str) -> list[Any]:
        from sqlalchemy import select

        from store.models.synora import QuarantineEntry
        from store.synora_db import read_session

        with read_session(self.db_path) as session:
            return list(session.scalars(select(QuarantineEntry).where(
                QuarantineEntry.operation_id == operation_id).order_by(QuarantineEntry.id)))

    def backups(self, operation_id: str) -> list[Any]:
        from sqlalchemy import select

        from store.models.synora import RegistryBackup
        from store.synora_db import read_session

        with read_session(self.db_path) as session:
            return list(session.scalars(select(RegistryBackup).where(
                RegistryBackup.operation_id == operation_id).order_by(RegistryBackup.id)))

    def package(self, package_id: str) -> dict[str, Any]:
        code, package = self.json("package", "show", "--id", package_id)
        assert code == 0, package
        return package
