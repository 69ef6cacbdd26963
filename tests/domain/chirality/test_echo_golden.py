"""Golden run of the echo pipeline: record counts, exact cell texts, exact file bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from domain.chirality.pipeline import PipelineRequest, run_pipeline
from domain.chirality.problem import Problem
from domain.chirality.validate import validate_run
from tests.support.chirality import fast_settings

NECESSITY = "Necessity (vs Contingency)"
C00_CONCEPTS = ("Essential Facts Direction, Critical Context Implementation, "
                "Fundamental Understanding Evaluation, Vital Judgment Assessment")
C00 = f"SYN[COL[{NECESSITY}]: {C00_CONCEPTS} | ROW[Normative]: {C00_CONCEPTS}]"
C12_CONCEPTS = ("Comprehensive Records Leadership, Holistic View Execution, "
                "Full Comprehension Decision-making, Thorough Prudence Quality Control")
C12 = f"SYN[COL[Completeness]: {C12_CONCEPTS} | ROW[Operative]: {C12_CONCEPTS}]"
F00_PAIR = f"{C00} Essential Facts"  # J[0,0] * C[0,0] -> "C J"
F00 = f"SYN[COL[{NECESSITY}]: {F00_PAIR} | ROW[Normative]: {F00_PAIR}]"
D00_SENTENCE = ("Direction applied to frame the problem of generating reliable knowledge; "
                f"{F00} to resolve the problem.")
D00 = f"SYN[COL[Guiding]: {D00_SENTENCE} | ROW[Normative]: {D00_SENTENCE}]"

# The bytes of a full echo run: any change to a label, a station, a step or the line
# format shows here.
GOLDEN_SHA256 = {
    "C": "209befcd45f0ce12e92d98a35789772641c3ccecf4a049b39d24ca4b47886013",
    "D": "568014bee94462cf7dd59a95a876a290b9b97389a281c8b3b93b0a61489ec7e5",
    "X": "d39593852fbb5c0f8003f82ad4ae5efe8bd3b5ee5c84b5b0639b29728f2fa695",
    "E": "bdd51a702c68a5b9af5d3592f733461e784be96454ce103ee0375431baa7720d",
}


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden")
    request = PipelineRequest(run_id="golden-echo", runs_root=str(root), resolver="echo",
                              problem=Problem("Golden", "The echo pipeline."), max_seconds=60)
    run_pipeline(request, settings=fast_settings())
    return root / "runs" / "golden-echo"


def _records(run: Path, matrix: str) -> list[dict[str, Any]]:
    lines = (run / "snapshots" / f"{matrix}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _cell(run: Path, matrix: str, row: int, col: int) -> dict[str, Any]:
    [record] = [r for r in _records(run, matrix) if r["id"] == f"{matrix}:r{row}:c{col}"]
    return record


def test_record_counts(echo_run: Path) -> None:
    manifest = json.loads((echo_run / "index.json").read_text())
    counts = {name: meta["records"] for name, meta in manifest["matrices"].items()}
    assert counts == {"C": 12, "D": 12, "X": 16, "E": 9}
    assert {m: len(_records(echo_run, m)) for m in counts} == counts


def test_exact_texts_of_the_first_matrices(echo_run: Path) -> None:
    assert _cell(echo_run, "C", 0, 0)["text"] == C00
    assert _cell(echo_run, "C", 1, 2)["text"] == C12
    assert _cell(echo_run, "D", 0, 0)["text"] == D00


def test_exact_composition_of_x_and_e(echo_run: Path) -> None:
    d = {(r["meta"]["row"], r["meta"]["col"]): r["text"] for r in _records(echo_run, "D")}
    # X[0,0] = K[0,*] . J[*,0] with K[0,k] = D[k,0]; J's first column is B's, rows 0..2.
    concepts = ", ".join(f"{j} {d[(k, 0)]}" for k, j in
                         enumerate(["Essential Facts", "Critical Context",
                                    "Fundamental Understanding"]))
    x00 = f"SYN[COL[{NECESSITY}]: {concepts} | ROW[Guiding]: {concepts}]"
    assert _cell(echo_run, "X", 0, 0)["text"] == x00
    # E[2,2] = G[2,*] . T[*,2], G = Z's first rows, Z = "VALIDATION[row,col]: " + X.
    x = {(r["meta"]["row"], r["meta"]["col"]): r["text"] for r in _records(echo_run, "X")}
    cols = [NECESSITY, "Sufficiency", "Completeness", "Consistency"]
    b_knowledge = ["Fundamental Understanding", "Adequate Insight", "Full Comprehension",
                   "Coherent Framework"]
    z2 = [f"VALIDATION[Judging,{cols[k]}]: {x[(2, k)]}" for k in range(4)]
    concepts = ", ".join(f"{b_knowledge[k]} {z2[k]}" for k in range(4))
    e22 = _cell(echo_run, "E", 2, 2)
    assert e22["text"] == f"SYN[COL[Knowledge]: {concepts} | ROW[Judging]: {concepts}]"
    assert (e22["row_label"], e22["col_label"], e22["station"]) == (
        "Judging", "Knowledge", "Evaluation")


def test_snapshot_lines_carry_only_schema_fields(echo_run: Path) -> None:
    record = _cell(echo_run, "X", 3, 1)
    assert set(record) == {"id", "matrix", "row_label", "col_label", "station", "text",
                           "citations", "refs", "meta"}
    assert (record["row_label"], record["col_label"], record["station"]) == (
        "Reviewing", "Sufficiency", "Verification")
    assert record["meta"] == {"order": 14, "row": 3, "col": 1, "resolver": "echo"}
    assert [r["meta"]["order"] for r in _records(echo_run, "E")] == list(range(1, 10))


def test_the_files_are_byte_for_byte_the_golden_run(echo_run: Path) -> None:
    digests = {m: hashlib.sha256((echo_run / "snapshots" / f"{m}.jsonl").read_bytes())
               .hexdigest() for m in GOLDEN_SHA256}
    assert digests == GOLDEN_SHA256


def test_the_run_passes_the_strict_validator(echo_run: Path) -> None:
    report = validate_run(echo_run, strict=True)
    assert report.problems == [] and report.warnings == []
    assert report.records == {"C": 12, "D": 12, "X": 16, "E": 9}
