"""What the graph asks of a resolver: one call about one cell."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.chirality.attempts import ResolverAttempts


class CallKind(StrEnum):
    """The steps of one cell (chirality-canonical.md, "One cell, step by step")."""

    PAIR = "pair"                # "a * b" -> one concept
    COMBINE = "combine"          # the k concepts of a product -> one text
    LENS_COLUMN = "lens_column"  # the text seen through the cell's column
    LENS_ROW = "lens_row"        # ... and through its row
    SYNTHESIS = "synthesis"      # the two lensed texts -> the cell's text
    SHIFT = "shift"              # Z: a Verification text moved into Validation


@dataclass(frozen=True)
class CellRef:
    """Where a call belongs: the matrix, its station and the cell's coordinates and labels."""

    matrix: str
    station: str
    row: int
    col: int
    row_label: str
    col_label: str

    @property
    def id(self) -> str:
        """The canonical snapshot id, "{matrix}:r{row}:c{col}"."""
        return f"{self.matrix}:r{self.row}:c{self.col}"


@dataclass(frozen=True)
class ResolverCall:
    kind: CallKind
    cell: CellRef
    inputs: tuple[str, ...]
    """PAIR: (a, b); COMBINE: the concepts in k order; SYNTHESIS: (column text, row text);
    LENS_COLUMN, LENS_ROW and SHIFT: (text,)."""


class Resolver(Protocol):
    """Turns one call into one text. May raise a ContractError (RESOLVER_ERROR, exit 5)."""

    name: str
    attempts: ResolverAttempts
    """Every request it sent, retries included, and its last failure."""

    async def resolve(self, call: ResolverCall) -> str: ...

    async def aclose(self) -> None: ...
