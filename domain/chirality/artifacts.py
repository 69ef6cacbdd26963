"""The run's files: snapshots/{C,D,X,E}.jsonl, then index.json, last and atomically.

Every new file is first written whole beside its final name (a temp file, fsynced); only
then is an earlier run's manifest withdrawn and are the files renamed into place, the
manifest last. A failure while writing (a full disk, the deadline) therefore leaves an
earlier run as it was, and renames need no free space.

A snapshot line holds exactly the snapshot schema's fields (the original producer also
wrote top-level row/col, which the schema forbids); coordinates and the like go in meta.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.chirality.atomic import discard, fsync_dir, remove_durably, write_temp
from domain.chirality.canonical import SNAPSHOT_MATRICES
from domain.chirality.layout import MANIFEST_NAME, SNAPSHOTS_DIR, RunLayout, ensure_real_dir
from domain.chirality.matrix import Matrix
from domain.chirality.problem import Problem

FRAMEWORK_SCHEMA_VERSION = "1.0.0"
SNAPSHOT_FORMAT = "cells-jsonl-v1"
TOOL_NAME = "conveyor-chirality"


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conveyor")
    except PackageNotFoundError:
        return "0.0.0"


def snapshot_records(matrix: Matrix, *, resolver: str) -> list[dict[str, Any]]:
    """One record per cell, row by row; meta.order counts from 1 in that order."""
    cols = matrix.shape[1]
    return [{
        "id": f"{matrix.name}:r{row}:c{col}",
        "matrix": matrix.name,
        "row_label": matrix.row_labels[row],
        "col_label": matrix.col_labels[col],
        "station": matrix.station,
        "text": matrix.cell(row, col),
        "citations": [],
        "refs": [],
        "meta": {"order": row * cols + col + 1, "row": row, "col": col, "resolver": resolver},
    } for row, col in matrix.positions()]


def encode_snapshot(matrix: Matrix, *, resolver: str) -> bytes:
    """JSONL: one compact object per line, each line ending in a newline, UTF-8."""
    lines = [json.dumps(record, ensure_ascii=False, separators=(",", ":"))
             for record in snapshot_records(matrix, resolver=resolver)]
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class FileMeta:
    path: str
    records: int
    sha256: str
    bytes: int

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": SNAPSHOT_FORMAT, "records": self.records,
                "sha256": self.sha256, "bytes": self.bytes}


@dataclass
class StagedRun:
    """A run's new files, written beside their final names but not yet in place."""

    layout: RunLayout
    files: dict[str, FileMeta] = field(default_factory=dict)
    renames: list[tuple[Path, Path]] = field(default_factory=list)
    """(temp, final), in the order they go into place: the snapshots, then the manifest."""

    def add(self, final: Path, data: bytes) -> None:
        self.renames.append((write_temp(final, data), final))

    def commit(self) -> None:
        """Replace the earlier run: its manifest out first, the new manifest in last."""
        withdraw_manifest(self.layout)
        for temp, final in self.renames:
            if final == self.layout.manifest_path:
                fsync_dir(self.layout.snapshots_dir)  # the snapshots before the manifest
            os.replace(temp, final)
        fsync_dir(self.layout.run_dir)

    def discard(self) -> None:
        """Remove whatever was not put in place (nothing, after a commit)."""
        for temp, _ in self.renames:
            discard(temp)


def stage_snapshots(layout: RunLayout, matrices: Mapping[str, Matrix], *,
                    resolver: str) -> StagedRun:
    """Write C, D, X and E beside their places; the sha256 is over exactly those bytes."""
    ensure_real_dir(layout.snapshots_dir)
    staged = StagedRun(layout)
    try:
        for name in SNAPSHOT_MATRICES:
            data = encode_snapshot(matrices[name], resolver=resolver)
            staged.add(layout.snapshot_path(name), data)
            staged.files[name] = FileMeta(
                path=f"{SNAPSHOTS_DIR}/{name}.jsonl",
                records=matrices[name].shape[0] * matrices[name].shape[1],
                sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    except BaseException:
        staged.discard()
        raise
    return staged


def build_manifest(*, run_id: str, created_at: str, problem: Problem,
                   durations: Mapping[str, float], files: Mapping[str, FileMeta]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "created_at": created_at,
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "framework_schema_version": FRAMEWORK_SCHEMA_VERSION,
        "problem": problem.as_json(),
        "durations": dict(durations),
        "matrices": {name: files[name].as_json() for name in SNAPSHOT_MATRICES},
    }


def encode_manifest(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def withdraw_manifest(layout: RunLayout) -> bool:
    """Remove an earlier manifest before its snapshots are replaced.

    Until the new manifest is in place the run reads as unfinished, never as an old
    manifest whose checksums no longer match the files beside it.
    """
    return remove_durably(layout.run_dir / MANIFEST_NAME)
