"""The consumer side: check a run the way chirality-app must before trusting it.

In order: the manifest against its JSON Schema; framework_schema_version (same major:
accepted; a higher minor or patch: accepted with a warning; another major: rejected);
run_id rules (the pattern, and the folder's name); then every snapshot the manifest
names: a path that stays inside the run folder, its bytes, sha256 and record count,
and every line against the snapshot schema. Unknown fields are ignored unless strict.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from domain.chirality.artifacts import FRAMEWORK_SCHEMA_VERSION
from domain.chirality.canonical import SNAPSHOT_MATRICES, STATIONS
from domain.chirality.errors import io_error
from domain.chirality.layout import MANIFEST_NAME
from domain.chirality.run_ids import is_valid_run_id
from domain.chirality.schema_check import MANIFEST_SCHEMA, SNAPSHOT_SCHEMA, schema_errors

MAX_MANIFEST_BYTES = 1024 * 1024
# open() errors that mean the manifest's path names no readable file (not an I/O failure).
_NOT_A_FILE_NAME = (errno.ENAMETOOLONG, errno.ELOOP)
# Stop listing a file's bad lines after this many; one is enough to reject it.
MAX_LINE_PROBLEMS = 5
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.+-]+)?\Z")


@dataclass
class RunReport:
    run_dir: str
    run_id: str | None = None
    framework_schema_version: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"valid": self.ok, "run_id": self.run_id,
                "framework_schema_version": self.framework_schema_version,
                "matrices": {name: {"records": n} for name, n in self.records.items()},
                "warnings": self.warnings, "problems": self.problems}


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _SEMVER.match(text)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def check_version(text: str, report: RunReport,
                  supported: str = FRAMEWORK_SCHEMA_VERSION) -> None:
    """The contract's compatibility rules, against the version this code reads."""
    ours = parse_version(supported)
    theirs = parse_version(text)
    assert ours is not None
    if theirs is None:
        report.problems.append(f"framework_schema_version {text!r} is not a semantic version "
                               f"(MAJOR.MINOR.PATCH)")
    elif theirs[0] != ours[0]:
        newer = theirs[0] > ours[0]
        report.problems.append(
            f"framework_schema_version {text} is a {'newer' if newer else 'older'} major "
            f"version than the {ours[0]}.x this validator reads: "
            + ("upgrade the consumer (conveyor's chirality) to read this run"
               if newer else "recompute the run with a current producer (--force)"))
    elif theirs[1:] > ours[1:]:
        report.warnings.append(
            f"framework_schema_version {text} is newer than {supported}: accepted (same "
            f"major); fields added since {supported} are ignored")


def validate_run(run_dir: Path, *, strict: bool = False) -> RunReport:
    """Check one run folder; problems make it invalid, warnings do not.

    Raises ContractError IO_ERROR (exit 4) when a file exists but cannot be read.
    """
    report = RunReport(run_dir=str(run_dir))
    if not run_dir.is_dir():
        report.problems.append(f"{run_dir} is not a folder")
        return report
    manifest = _read_manifest(run_dir, report)
    if manifest is None:
        return report
    report.problems += [f"index.json {e}" for e in
                        schema_errors(MANIFEST_SCHEMA, manifest, strict=strict)]
    _check_identity(run_dir, manifest, report)
    matrices = manifest.get("matrices")
    if isinstance(matrices, dict):
        for name in SNAPSHOT_MATRICES:
            meta = matrices.get(name)
            if isinstance(meta, dict) and isinstance(meta.get("path"), str):
                _check_snapshot(run_dir, name, meta, report, strict=strict)
    return report


def _read_manifest(run_dir: Path, report: RunReport) -> dict[str, Any] | None:
    path = run_dir / MANIFEST_NAME
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        report.problems.append("no index.json: the run did not complete (the manifest is "
                               "written last, only on success)")
        return None
    except IsADirectoryError:
        report.problems.append("index.json is a folder, not a file")
        return None
    except OSError as exc:
        raise io_error(f"cannot read {path}: {exc.strerror or exc}", exc) from None
    if len(raw) > MAX_MANIFEST_BYTES:
        report.problems.append(f"index.json is larger than {MAX_MANIFEST_BYTES} bytes")
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.problems.append(f"index.json is not valid UTF-8 JSON: {exc}")
        return None
    except RecursionError:  # json's parser recurses once per level of nesting
        report.problems.append("index.json is nested too deeply to be a manifest")
        return None
    if not isinstance(data, dict):
        report.problems.append("index.json is not a JSON object")
        return None
    return data


def _check_identity(run_dir: Path, manifest: dict[str, Any], report: RunReport) -> None:
    run_id = manifest.get("run_id")
    if isinstance(run_id, str):
        report.run_id = run_id
        if not is_valid_run_id(run_id):
            report.problems.append(f"run_id {run_id!r} does not match ^[a-z0-9-_]{{1,64}}$")
        elif run_dir.resolve().name != run_id:
            report.problems.append(f"run_id {run_id!r} is not the name of its folder "
                                   f"{run_dir.resolve().name!r} (runs live in runs/<run_id>)")
    version = manifest.get("framework_schema_version")
    if isinstance(version, str):
        report.framework_schema_version = version
        check_version(version, report)


def _resolve_inside(run_dir: Path, relative: str) -> Path | None:
    """The file a manifest path names, or None if it would leave the run folder.

    Raises ValueError when the path cannot be resolved at all (a symlink loop, a NUL
    byte, a character the file system encoding cannot hold).
    """
    pure = PurePosixPath(relative)
    if pure.is_absolute() or "\\" in relative or ".." in pure.parts or not pure.parts:
        return None
    base = run_dir.resolve()
    try:
        target = (base / pure).resolve()  # follows symlinks: a link out of the run is caught
    except (RuntimeError, OSError) as exc:  # Python 3.11 reports a symlink loop this way
        raise ValueError(str(exc)) from None
    return target if target.is_relative_to(base) and target != base else None


def _check_snapshot(run_dir: Path, name: str, meta: dict[str, Any], report: RunReport, *,
                    strict: bool) -> None:
    where = f"matrices.{name} ({meta['path']})"
    try:
        path = _resolve_inside(run_dir, meta["path"])
    except ValueError as exc:
        report.problems.append(f"{where}: the path cannot be resolved: {exc}")
        return
    if path is None:
        report.problems.append(f"{where}: the path must be relative and stay inside the run "
                               f"folder")
        return
    data = _read_snapshot(path, where, report)
    if data is None:
        return
    if isinstance(meta.get("bytes"), (int, float)) and meta["bytes"] != len(data):
        report.problems.append(f"{where}: {len(data)} bytes, the manifest says {meta['bytes']}")
    digest = hashlib.sha256(data).hexdigest()
    if isinstance(meta.get("sha256"), str) and meta["sha256"].lower() != digest:
        report.problems.append(f"{where}: sha256 {digest} does not match the manifest's "
                               f"{meta['sha256']}")
    lines = _lines(data, where, report)
    if lines is None:
        return
    report.records[name] = len(lines)
    if isinstance(meta.get("records"), (int, float)) and meta["records"] != len(lines):
        report.problems.append(f"{where}: {len(lines)} records, the manifest says "
                               f"{meta['records']}")
    _check_lines(name, lines, where, report, strict=strict)


def _read_snapshot(path: Path, where: str, report: RunReport) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        report.problems.append(f"{where}: no such file")
        return None
    except OSError as exc:
        if exc.errno in _NOT_A_FILE_NAME:  # the manifest names nothing that could exist
            report.problems.append(f"{where}: cannot be opened: {exc.strerror}")
            return None
        raise io_error(f"cannot read {path}: {exc.strerror or exc}", exc) from None
    try:
        # fstat before reading: a folder opens fine but cannot be read as a file.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            report.problems.append(f"{where}: not a regular file")
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise io_error(f"cannot read {path}: {exc.strerror or exc}", exc) from None
    finally:
        os.close(fd)


def _lines(data: bytes, where: str, report: RunReport) -> list[bytes] | None:
    if not data:
        return []
    if not data.endswith(b"\n"):
        report.problems.append(f"{where}: the last line does not end with a newline "
                               f"(a truncated file?)")
        return None
    return data[:-1].split(b"\n")


def _check_lines(name: str, lines: list[bytes], where: str, report: RunReport, *,
                 strict: bool) -> None:
    found: list[str] = []
    seen: set[str] = set()
    id_pattern = re.compile(rf"{name}:r(0|[1-9]\d*):c(0|[1-9]\d*)\Z")
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            found.append(f"line {number}: not a JSON object")
            continue
        errors = schema_errors(SNAPSHOT_SCHEMA, record, strict=strict, limit=3)
        if errors:
            found.append(f"line {number}: {'; '.join(errors)}")
            continue
        found += [f"line {number}: {p}" for p in _record_problems(name, record, id_pattern, seen)]
        if len(found) >= MAX_LINE_PROBLEMS:
            break
    report.problems += [f"{where} {p}" for p in found[:MAX_LINE_PROBLEMS]]


def _record_problems(name: str, record: dict[str, Any], id_pattern: re.Pattern[str],
                     seen: set[str]) -> list[str]:
    problems = []
    if record["matrix"] != name:
        problems.append(f"matrix {record['matrix']!r} in the {name} snapshot")
    if id_pattern.match(record["id"]) is None:
        problems.append(f"id {record['id']!r} is not \"{name}:r<row>:c<col>\"")
    elif record["id"] in seen:
        problems.append(f"id {record['id']!r} appears twice")
    seen.add(record["id"])
    if record["station"] != STATIONS[name]:
        problems.append(f"station {record['station']!r}, expected {STATIONS[name]!r}")
    return problems
