"""The scheduler: concurrency bound, cell-level dataflow, the depth of the critical path."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import pytest

from domain.chirality.calls import CallKind, ResolverCall
from domain.chirality.compute import compute
from domain.chirality.graph import Graph
from tests.support.chirality import FakeResolver

FULL_RUN_CALLS = 380
CRITICAL_PATH_CALLS = 18  # C 4 + F 3 + D 2 + X 4 + Z 1 + E 4


class DepthResolver(FakeResolver):
    """Answers "d<n>": n = 1 + the deepest input's n, so a cell's text is its chain length."""

    name = "depth"

    def __init__(self) -> None:
        super().__init__()
        self.kinds: Counter[str] = Counter()

    async def resolve(self, call: ResolverCall) -> str:
        self.kinds[call.kind] += 1
        await asyncio.sleep(0)
        depths = [int(m) for text in call.inputs for m in re.findall(r"\bd(\d+)\b", text)]
        return f"d{1 + max(depths, default=0)}"

    async def aclose(self) -> None:
        return None


class InFlightResolver(FakeResolver):
    """Counts the calls in flight; each call yields a few times so that they overlap."""

    name = "in-flight"

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.peak = 0

    async def resolve(self, call: ResolverCall) -> str:
        self.now += 1
        self.peak = max(self.peak, self.now)
        for _ in range(3):
            await asyncio.sleep(0)
        self.now -= 1
        return "x"

    async def aclose(self) -> None:
        return None


def test_a_full_run_makes_380_calls_and_its_longest_chain_is_18() -> None:
    resolver = DepthResolver()
    result = compute(lambda: resolver, concurrency=8, deadline=float("inf"))
    assert result.calls == FULL_RUN_CALLS == sum(resolver.kinds.values())
    assert resolver.kinds == {CallKind.PAIR: 48 + 12 + 48 + 36, CallKind.COMBINE: 12 + 16 + 9,
                              CallKind.LENS_COLUMN: 61, CallKind.LENS_ROW: 61,
                              CallKind.SYNTHESIS: 61, CallKind.SHIFT: 16}
    depth = {name: {m.cell(r, c) for r, c in m.positions()}
             for name, m in result.matrices.items() if name in "CFDXZE"}
    assert depth == {"C": {"d4"}, "F": {"d7"}, "D": {"d9"}, "X": {"d13"}, "Z": {"d14"},
                     "E": {f"d{CRITICAL_PATH_CALLS}"}}


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_calls_in_flight_never_exceed_the_concurrency_and_reach_it(concurrency: int) -> None:
    resolver = InFlightResolver()
    compute(lambda: resolver, concurrency=concurrency, deadline=float("inf"))
    assert resolver.peak == concurrency


def test_a_cell_waits_for_the_cells_it_reads_not_for_whole_matrices() -> None:
    """While C[0,0] is held back, everything that does not read it goes on: E[1,*] reads
    Z[1,*] = X[1,*], which reads column 1 of D, F and C, and never C[0,0]."""

    class HoldOneCell(FakeResolver):
        name = "hold"

        def __init__(self) -> None:
            super().__init__()
            self.release = asyncio.Event()
            self.resolved: list[str] = []

        async def resolve(self, call: ResolverCall) -> str:
            if call.cell.id == "C:r0:c0" and call.kind is CallKind.SYNTHESIS:
                await self.release.wait()
            self.resolved.append(f"{call.cell.id}/{call.kind}")
            if call.cell.id == "E:r1:c2" and call.kind is CallKind.SYNTHESIS:
                self.release.set()  # a cell of the last matrix, while C[0,0] is held
            return "t"

        async def aclose(self) -> None:
            return None

    resolver = HoldOneCell()
    compute(lambda: resolver, concurrency=4, deadline=time.monotonic() + 60)
    finished_c00 = resolver.resolved.index("C:r0:c0/synthesis")
    assert resolver.resolved.index("E:r1:c2/synthesis") < finished_c00
    # F[0,0] reads C[0,0]: it cannot have started before C[0,0] finished.
    assert resolver.resolved.index("F:r0:c0/pair") > finished_c00


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Graph(DepthResolver(), concurrency=0)
