"""The canonical inputs and the labels, shapes and stations of all thirteen matrices."""

from __future__ import annotations

import pytest

from domain.chirality.canonical import MATRIX_A, MATRIX_B, ORDER
from domain.chirality.compute import compute
from domain.chirality.matrix import Matrix
from domain.chirality.resolvers.echo import EchoResolver

GUIDING = ("Guiding", "Applying", "Judging", "Reviewing")
NOE = ("Normative", "Operative", "Evaluative")
NSCC = ("Necessity (vs Contingency)", "Sufficiency", "Completeness", "Consistency")
DIK = ("Data", "Information", "Knowledge")

# (station, row labels, column labels) of chirality-canonical.md's table.
EXPECTED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "A": ("Problem Statement", NOE, GUIDING),
    "B": ("Problem Statement", (*DIK, "Wisdom"), NSCC),
    "J": ("Verification", DIK, NSCC),
    "C": ("Problem Requirements", NOE, NSCC),
    "F": ("Solution Objectives", NOE, NSCC),
    "D": ("Solution Objectives", NOE, GUIDING),
    "K": ("Pre-Verification Transform", GUIDING, NOE),
    "X": ("Verification", GUIDING, NSCC),
    "Z": ("Validation", GUIDING, NSCC),
    "G": ("Evaluation Input", GUIDING[:3], NSCC),
    "T": ("Evaluation Criteria", NSCC, DIK),
    "P": ("Evaluation Context", ("Reviewing",), NSCC),
    "E": ("Evaluation", GUIDING[:3], DIK),
}


@pytest.fixture(scope="module")
def matrices() -> dict[str, Matrix]:
    return compute(EchoResolver, concurrency=8, deadline=float("inf")).matrices


def test_the_canonical_cells() -> None:
    assert MATRIX_A.cells[1] == ("Leadership", "Execution", "Decision-making", "Quality Control")
    assert MATRIX_A.cell(2, 3) == "Refinement"
    assert MATRIX_B.cells[3] == ("Vital Judgment", "Sound Reasoning", "Thorough Prudence",
                                 "Harmonious Principles")
    assert MATRIX_B.cell(2, 0) == "Fundamental Understanding"


def test_every_matrix_has_its_station_labels_and_shape(matrices: dict[str, Matrix]) -> None:
    assert list(matrices) == list(ORDER)
    for name, (station, rows, cols) in EXPECTED.items():
        matrix = matrices[name]
        assert (matrix.name, matrix.station) == (name, station)
        assert (matrix.row_labels, matrix.col_labels) == (rows, cols), name
        assert matrix.shape == (len(rows), len(cols))


def test_the_rearranged_matrices_take_their_cells_from_their_sources(
        matrices: dict[str, Matrix]) -> None:
    b, d, z = matrices["B"], matrices["D"], matrices["Z"]
    assert matrices["J"].cells == b.cells[:3]
    assert all(matrices["K"].cell(i, k) == d.cell(k, i) for i in range(4) for k in range(3))
    assert matrices["G"].cells == z.cells[:3]
    assert matrices["P"].cells == (z.cells[3],)
    assert all(matrices["T"].cell(k, j) == b.cell(j, k) for k in range(4) for j in range(3))
