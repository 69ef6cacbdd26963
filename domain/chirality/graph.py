"""The computation of chirality-canonical.md as a dataflow graph of cells.

Every cell is an asyncio task that waits only for the cells it reads (F[i,j] for
C[i,j]; X[i,*] for column i of D; E[i,*] for row i of Z), never for a whole matrix.
Resolver calls that do not depend on each other run together, up to ``concurrency``
at once, so the wall time follows the longest chain of dependent calls (18 calls deep)
rather than the number of calls (380 in a full run).

Calls per cell: a product (C, X, E) resolves its k pairs together, combines the k
concepts, then lenses: column and row lens together, then the synthesis. F is a product
of one pair (nothing to combine); D lenses its mechanically built sentence; Z is one
station-shift call per cell; J, K, G, T and P only rearrange cells.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from common.errors import ContractError
from config.redact import redact_urls
from domain.chirality.attempts import ResolverAttempts
from domain.chirality.calls import CallKind, CellRef, Resolver, ResolverCall
from domain.chirality.canonical import (
    A_COLS,
    A_ROWS,
    B_COLS,
    B_ROWS,
    D_SENTENCE,
    MATRIX_A,
    MATRIX_B,
    STATIONS,
)
from domain.chirality.errors import resolver_error
from domain.chirality.matrix import Matrix, build, take_rows, transpose

logger = logging.getLogger("conveyor.chirality")

Pos = tuple[int, int]
ProgressCallback = Callable[[str], None]

# The resolver-computed matrices, in the order a run finishes them.
COMPUTED: tuple[str, ...] = ("C", "F", "D", "X", "Z", "E")
_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "C": (A_ROWS, B_COLS),
    "F": (A_ROWS, B_COLS),
    "D": (A_ROWS, A_COLS),
    "X": (A_COLS, B_COLS),
    "Z": (A_COLS, B_COLS),
    "E": (A_COLS[:3], B_ROWS[:3]),
}
MATRIX_J = take_rows(MATRIX_B, range(3), name="J", station=STATIONS["J"])
MATRIX_T = transpose(MATRIX_J, name="T", station=STATIONS["T"])


def _positions(rows: int, cols: int) -> list[Pos]:
    return [(r, c) for r in range(rows) for c in range(cols)]


@dataclass
class ProgressTracker:
    """Counts finished cells; reports the first matrix not yet finished when it changes,
    and again after every resolver retry (with the retries so far and the last error)."""

    on_progress: ProgressCallback | None
    attempts: ResolverAttempts | None = None
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPUTED, 0))
    current: str | None = None

    def start(self) -> None:
        if self.attempts is not None:
            self.attempts.listeners.append(self.retried)
        self._report()

    def cell_done(self, matrix: str) -> None:
        self.done[matrix] += 1
        self._report()

    def retried(self) -> None:
        self._report(always=True)

    def _report(self, *, always: bool = False) -> None:
        pending = [m for m in COMPUTED if self.done[m] < _cell_count(m)]
        now = pending[0] if pending else None
        if now != self.current or always:
            self.current = now
            if now is not None and self.on_progress is not None:
                index = COMPUTED.index(now) + 1
                retries = self.attempts.summary() if self.attempts is not None else ""
                self.on_progress(f"computing matrix {now} ({index}/{len(COMPUTED)}){retries}")


def _cell_count(matrix: str) -> int:
    rows, cols = _SHAPES[matrix]
    return len(rows) * len(cols)


class Graph:
    """One run's cells, their dependencies and the calls they make."""

    def __init__(self, resolver: Resolver, *, concurrency: int,
                 on_progress: ProgressCallback | None = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.resolver = resolver
        self.slots = asyncio.Semaphore(concurrency)
        self.calls = 0
        self.progress = ProgressTracker(on_progress, resolver.attempts)
        self.tasks: dict[str, dict[Pos, asyncio.Task[str]]] = {}

    # ---- calls --------------------------------------------------------------------------

    def _ref(self, matrix: str, pos: Pos) -> CellRef:
        rows, cols = _SHAPES[matrix]
        return CellRef(matrix, STATIONS[matrix], pos[0], pos[1], rows[pos[0]], cols[pos[1]])

    async def _call(self, kind: CallKind, cell: CellRef, *inputs: str) -> str:
        call = ResolverCall(kind, cell, inputs)
        async with self.slots:
            try:
                text = await self.resolver.resolve(call)
            except ContractError:
                raise
            except Exception as exc:  # a resolver's own bug is still its failure: exit 5
                raise self._unexpected(call, exc) from exc
        self.calls += 1
        return text

    def _unexpected(self, call: ResolverCall, exc: Exception) -> ContractError:
        logger.error("resolver call %s %s raised unexpectedly", call.kind, call.cell.id,
                     exc_info=exc)
        name = self.resolver.name
        cause = redact_urls(f"{type(exc).__name__}: {exc}")[:300]
        return resolver_error(f"the {name} resolver failed on {call.cell.id} ({call.kind}): "
                              f"{cause}", resolver=name, cell=call.cell.id,
                              call=str(call.kind), attempts=None, status=None)

    async def _lens(self, cell: CellRef, text: str) -> str:
        col_text, row_text = await asyncio.gather(self._call(CallKind.LENS_COLUMN, cell, text),
                                                  self._call(CallKind.LENS_ROW, cell, text))
        return await self._call(CallKind.SYNTHESIS, cell, col_text, row_text)

    async def _product(self, cell: CellRef, pairs: Sequence[tuple[str, str]]) -> str:
        concepts = await asyncio.gather(*(self._call(CallKind.PAIR, cell, a, b)
                                          for a, b in pairs))
        combined = concepts[0] if len(concepts) == 1 else \
            await self._call(CallKind.COMBINE, cell, *concepts)
        return await self._lens(cell, combined)

    async def _text(self, matrix: str, pos: Pos) -> str:
        return await self.tasks[matrix][pos]

    # ---- cells --------------------------------------------------------------------------

    async def _c(self, pos: Pos) -> str:
        i, j = pos
        pairs = [(MATRIX_A.cell(i, k), MATRIX_B.cell(k, j)) for k in range(4)]
        return await self._product(self._ref("C", pos), pairs)

    async def _f(self, pos: Pos) -> str:
        c_text = await self._text("C", pos)
        return await self._product(self._ref("F", pos), [(MATRIX_J.cell(*pos), c_text)])

    async def _d(self, pos: Pos) -> str:
        f_text = await self._text("F", pos)
        sentence = D_SENTENCE.format(a=MATRIX_A.cell(*pos), f=f_text)
        return await self._lens(self._ref("D", pos), sentence)

    async def _x(self, pos: Pos) -> str:
        i, j = pos  # K[i,k] = D[k,i]: row i of X reads column i of D
        k_row = [await self._text("D", (k, i)) for k in range(3)]
        pairs = [(k_row[k], MATRIX_J.cell(k, j)) for k in range(3)]
        return await self._product(self._ref("X", pos), pairs)

    async def _z(self, pos: Pos) -> str:
        x_text = await self._text("X", pos)
        return await self._call(CallKind.SHIFT, self._ref("Z", pos), x_text)

    async def _e(self, pos: Pos) -> str:
        i, j = pos  # G[i,k] = Z[i,k] for the first three rows of Z
        g_row = [await self._text("Z", (i, k)) for k in range(4)]
        pairs = [(g_row[k], MATRIX_T.cell(k, j)) for k in range(4)]
        return await self._product(self._ref("E", pos), pairs)

    # ---- the run ------------------------------------------------------------------------

    async def run(self) -> dict[str, Matrix]:
        """Compute every cell; any failure cancels every call still in flight."""
        makers: dict[str, Callable[[Pos], Awaitable[str]]] = {
            "C": self._c, "F": self._f, "D": self._d, "X": self._x, "Z": self._z, "E": self._e}
        self.progress.start()
        async with asyncio.TaskGroup() as group:
            for name in COMPUTED:
                rows, cols = _SHAPES[name]
                self.tasks[name] = {
                    pos: group.create_task(self._tracked(name, makers[name](pos)),
                                           name=f"{name}:r{pos[0]}:c{pos[1]}")
                    for pos in _positions(len(rows), len(cols))}
        return self._matrices()

    async def _tracked(self, matrix: str, work: Awaitable[str]) -> str:
        text = await work
        self.progress.cell_done(matrix)
        return text

    def _computed(self, name: str) -> Matrix:
        rows, cols = _SHAPES[name]
        cells = [[self.tasks[name][(r, c)].result() for c in range(len(cols))]
                 for r in range(len(rows))]
        return build(name, STATIONS[name], rows, cols, cells)

    def _matrices(self) -> dict[str, Matrix]:
        computed = {name: self._computed(name) for name in COMPUTED}
        z = computed["Z"]
        return {
            "A": MATRIX_A,
            "B": MATRIX_B,
            "J": MATRIX_J,
            "C": computed["C"],
            "F": computed["F"],
            "D": computed["D"],
            "K": transpose(computed["D"], name="K", station=STATIONS["K"]),
            "X": computed["X"],
            "Z": z,
            "G": take_rows(z, range(3), name="G", station=STATIONS["G"]),
            "T": MATRIX_T,
            "P": take_rows(z, range(3, 4), name="P", station=STATIONS["P"]),
            "E": computed["E"],
        }
