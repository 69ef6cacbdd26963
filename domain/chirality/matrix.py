"""A labelled matrix of cell texts, and the pure reshaping operations of the graph."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Matrix:
    """One matrix of the computation: its name, station string, axes and cell texts."""

    name: str
    station: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.row_labels):
            raise ValueError(f"{self.name}: {len(self.cells)} rows for "
                             f"{len(self.row_labels)} row labels")
        for row in self.cells:
            if len(row) != len(self.col_labels):
                raise ValueError(f"{self.name}: a row of {len(row)} cells for "
                                 f"{len(self.col_labels)} column labels")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_labels), len(self.col_labels)

    def cell(self, row: int, col: int) -> str:
        return self.cells[row][col]

    def positions(self) -> Iterator[tuple[int, int]]:
        """Every (row, col), row by row."""
        for row in range(len(self.row_labels)):
            for col in range(len(self.col_labels)):
                yield row, col


def build(name: str, station: str, row_labels: Sequence[str], col_labels: Sequence[str],
          cells: Sequence[Sequence[str]]) -> Matrix:
    return Matrix(name, station, tuple(row_labels), tuple(col_labels),
                  tuple(tuple(row) for row in cells))


def transpose(source: Matrix, *, name: str, station: str) -> Matrix:
    rows, cols = source.shape
    return build(name, station, source.col_labels, source.row_labels,
                 [[source.cell(r, c) for r in range(rows)] for c in range(cols)])


def take_rows(source: Matrix, rows: range, *, name: str, station: str) -> Matrix:
    """Rows ``rows`` of ``source``, with their labels (J, G and P are made this way)."""
    return build(name, station, [source.row_labels[r] for r in rows], source.col_labels,
                 [source.cells[r] for r in rows])
