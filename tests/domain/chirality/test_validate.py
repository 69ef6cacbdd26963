"""validate-run's library function: every run we produce passes; tampering does not."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.chirality.pipeline import PipelineRequest, run_pipeline
from domain.chirality.problem import Problem
from domain.chirality.validate import RunReport, check_version, validate_run
from tests.support.chirality import fast_settings


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("produced")
    run_pipeline(PipelineRequest(run_id="r1", runs_root=str(root), resolver="echo",
                                 problem=Problem("T", "S"), max_seconds=60),
                 settings=fast_settings())
    return root / "runs" / "r1"


@pytest.fixture
def run(produced: Path, tmp_path: Path) -> Path:
    """A private copy of the produced run, to tamper with."""
    copy = tmp_path / "runs" / "r1"
    shutil.copytree(produced, copy)
    return copy


def _edit_manifest(run: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((run / "index.json").read_text())
    change(manifest)
    (run / "index.json").write_text(json.dumps(manifest))


def _rewrite_snapshot(run: Path, matrix: str, lines: list[bytes]) -> None:
    """Replace a snapshot and make the manifest's sha256 and bytes match it again."""
    data = b"".join(lines)
    (run / "snapshots" / f"{matrix}.jsonl").write_bytes(data)
    _edit_manifest(run, lambda m: m["matrices"][matrix].update(
        sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)))


def _records(run: Path, matrix: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (run / "snapshots" / f"{matrix}.jsonl").read_text().splitlines()]


def _encoded(records: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(record).encode() + b"\n" for record in records]


def _problems(run: Path, **kwargs: Any) -> str:
    report = validate_run(run, **kwargs)
    assert not report.ok
    return " | ".join(report.problems)


def test_a_produced_run_is_valid_strictly(run: Path) -> None:
    report = validate_run(run, strict=True)
    assert report.ok and report.run_id == "r1" and report.framework_schema_version == "1.0.0"
    assert report.as_json()["matrices"] == {"C": {"records": 12}, "D": {"records": 12},
                                            "X": {"records": 16}, "E": {"records": 9}}


def test_one_changed_byte_in_a_snapshot_is_caught(run: Path) -> None:
    path = run / "snapshots" / "X.jsonl"
    data = bytearray(path.read_bytes())
    data[200] = ord("Q") if data[200] != ord("Q") else ord("R")
    path.write_bytes(bytes(data))
    assert "matrices.X (snapshots/X.jsonl): sha256" in _problems(run)


def test_a_rewritten_line_with_a_matching_length_is_caught_by_its_sha256(run: Path) -> None:
    path = run / "snapshots" / "C.jsonl"
    path.write_text(path.read_text().replace("Direction", "Dirextion"))
    problems = _problems(run)
    assert "sha256" in problems and "bytes" not in problems


def test_a_truncated_snapshot_is_caught(run: Path) -> None:
    path = run / "snapshots" / "E.jsonl"
    path.write_bytes(path.read_bytes()[:-1000])
    problems = _problems(run)
    assert "bytes" in problems and "truncated" in problems


def test_a_missing_line_is_caught_by_records_even_with_matching_checksums(run: Path) -> None:
    lines = (run / "snapshots" / "D.jsonl").read_bytes().splitlines(keepends=True)
    _rewrite_snapshot(run, "D", lines[:-1])
    assert "11 records, the manifest says 12" in _problems(run)


def test_no_manifest_means_the_run_did_not_complete(run: Path) -> None:
    (run / "index.json").unlink()
    assert "no index.json" in _problems(run)


def test_a_manifest_that_breaks_its_schema(run: Path) -> None:
    _edit_manifest(run, lambda m: (m.pop("durations"), m["matrices"]["C"].pop("sha256")))
    problems = _problems(run)
    assert "'durations' is a required property" in problems
    assert "at /matrices/C: 'sha256' is a required property" in problems


def test_created_at_must_be_a_date_time(run: Path) -> None:
    _edit_manifest(run, lambda m: m.update(created_at="yesterday"))
    assert "'yesterday' is not a 'date-time'" in _problems(run)


def test_unknown_fields_are_ignored_unless_strict(run: Path) -> None:
    _edit_manifest(run, lambda m: (m.update(extra={"a": 1}),
                                   m["matrices"].update(F=dict(m["matrices"]["C"])),
                                   m["tool"].update(build="x")))
    assert validate_run(run).ok
    problems = _problems(run, strict=True)
    assert "Additional properties are not allowed ('extra' was unexpected)" in problems


def test_unknown_fields_in_lines_are_ignored_unless_strict(run: Path) -> None:
    records = _records(run, "C")
    for record in records:
        record["row"] = record["meta"]["row"]  # the original producer's defect
    _rewrite_snapshot(run, "C", _encoded(records))
    assert validate_run(run).ok
    assert "'row' was unexpected" in _problems(run, strict=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("matrix", "D", "line 1: matrix 'D' in the C snapshot"),
    ("id", "C:normative:completeness:1", "line 1: id 'C:normative:completeness:1' is not "
                                         "\"C:r<row>:c<col>\""),
    ("id", "C:r0:c1", "line 2: id 'C:r0:c1' appears twice"),
    ("station", "Requirements",
     "line 1: station 'Requirements', expected 'Problem Requirements'"),
    ("citations", "none", "line 1: at /citations: 'none' is not of type 'array'"),
])
def test_bad_lines(run: Path, field: str, value: Any, message: str) -> None:
    records = _records(run, "C")
    records[0][field] = value
    _rewrite_snapshot(run, "C", _encoded(records))
    assert f"matrices.C (snapshots/C.jsonl) {message}" in _problems(run)


@pytest.mark.parametrize("bad_path", ["../r1/snapshots/C.jsonl", "/etc/passwd",
                                      "snapshots/../../escape.jsonl", "snapshots\\C.jsonl", ""])
def test_manifest_paths_must_stay_in_the_run(run: Path, bad_path: str) -> None:
    _edit_manifest(run, lambda m: m["matrices"]["C"].update(path=bad_path))
    assert "must be relative and stay inside the run folder" in _problems(run)


def test_a_symlink_out_of_the_run_is_refused(run: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.jsonl"
    shutil.copy(run / "snapshots" / "C.jsonl", outside)
    (run / "snapshots" / "C.jsonl").unlink()
    os.symlink(outside, run / "snapshots" / "C.jsonl")
    assert "stay inside the run folder" in _problems(run)


def test_a_missing_snapshot(run: Path) -> None:
    (run / "snapshots" / "E.jsonl").unlink()
    assert "matrices.E (snapshots/E.jsonl): no such file" in _problems(run)


def test_the_run_id_must_name_its_folder(run: Path) -> None:
    renamed = run.with_name("r2")
    run.rename(renamed)
    assert "run_id 'r1' is not the name of its folder 'r2'" in _problems(renamed)


def test_a_bad_run_id_in_the_manifest(run: Path) -> None:
    _edit_manifest(run, lambda m: m.update(run_id="../r1"))
    assert "does not match ^[a-z0-9-_]{1,64}$" in _problems(run)


@pytest.mark.parametrize(("version", "warning"), [("1.0.0", None), ("1.0.7", "1.0.7 is newer"),
                                                  ("1.3.0", "1.3.0 is newer")])
def test_same_major_is_accepted_newer_minor_or_patch_with_a_warning(
        run: Path, version: str, warning: str | None) -> None:
    _edit_manifest(run, lambda m: m.update(framework_schema_version=version))
    report = validate_run(run)
    assert report.ok
    if warning is None:
        assert report.warnings == []
    else:
        [text] = report.warnings
        assert warning in text and "accepted" in text


@pytest.mark.parametrize(("version", "message"), [
    ("2.0.0", "upgrade the consumer"), ("0.9.0", "recompute the run"),
    ("1.0", "not a semantic version"), ("v1.0.0", "not a semantic version")])
def test_other_majors_and_non_versions_are_rejected(version: str, message: str) -> None:
    report = RunReport(run_dir="x")
    check_version(version, report)
    assert len(report.problems) == 1 and message in report.problems[0]


def test_a_folder_that_is_not_there(tmp_path: Path) -> None:
    assert "is not a folder" in _problems(tmp_path / "nope")


def test_a_manifest_that_is_not_json(run: Path) -> None:
    (run / "index.json").write_text("{not json")
    assert "index.json is not valid UTF-8 JSON" in _problems(run)


def test_a_snapshot_that_is_a_folder(run: Path) -> None:
    # os.fdopen() on a folder raised IsADirectoryError (an internal error).
    (run / "snapshots" / "C.jsonl").unlink()
    (run / "snapshots" / "C.jsonl").mkdir()
    assert "matrices.C (snapshots/C.jsonl): not a regular file" in _problems(run)


def test_a_manifest_that_is_a_folder(run: Path) -> None:
    (run / "index.json").unlink()
    (run / "index.json").mkdir()
    assert "index.json is a folder" in _problems(run)


@pytest.mark.parametrize(("bad_path", "message"), [
    ("snapshots/C.jsonl\x00", "cannot be resolved"), ("snapshots/\ud800", "cannot be resolved"),
    ("loop", "cannot be resolved"), ("n" * 5000, "cannot be opened: File name too long")])
def test_manifest_paths_the_os_cannot_resolve_are_problems(run: Path, bad_path: str,
                                                           message: str) -> None:
    # Each raised ValueError, RuntimeError (a symlink loop) or OSError (exit 4) before.
    os.symlink("loop", run / "loop")
    _edit_manifest(run, lambda m: m["matrices"]["C"].update(path=bad_path))
    assert message in _problems(run)


def test_a_deeply_nested_manifest_or_line_is_a_problem(run: Path) -> None:
    _rewrite_snapshot(run, "D", [b"[" * 100_000 + b"\n"])
    assert "matrices.D (snapshots/D.jsonl) line 1: not a JSON object" in _problems(run)
    (run / "index.json").write_bytes(b"[" * 100_000)
    assert "index.json is nested too deeply" in _problems(run)
