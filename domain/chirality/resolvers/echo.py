"""The echo resolver: deterministic, no model (chirality-canonical.md, "The echo resolver")."""

from __future__ import annotations

from domain.chirality.attempts import ResolverAttempts
from domain.chirality.calls import CallKind, ResolverCall

# Not fixed by the canonical text: how echo joins a product's k concepts. A comma list
# keeps every concept, in k order, readable in the cell's text.
COMBINE_SEPARATOR = ", "


def echo_text(call: ResolverCall) -> str:
    cell, inputs = call.cell, call.inputs
    if call.kind is CallKind.PAIR:
        a, b = inputs
        return f"{b} {a}"
    if call.kind is CallKind.COMBINE:
        return COMBINE_SEPARATOR.join(inputs)
    if call.kind is CallKind.LENS_COLUMN:
        return f"COL[{cell.col_label}]: {inputs[0]}"
    if call.kind is CallKind.LENS_ROW:
        return f"ROW[{cell.row_label}]: {inputs[0]}"
    if call.kind is CallKind.SYNTHESIS:
        col_text, row_text = inputs
        return f"SYN[{col_text} | {row_text}]"
    if call.kind is CallKind.SHIFT:
        return f"VALIDATION[{cell.row_label},{cell.col_label}]: {inputs[0]}"
    raise ValueError(f"unknown call kind {call.kind!r}")


class EchoResolver:
    name = "echo"

    def __init__(self) -> None:
        self.attempts = ResolverAttempts()

    async def resolve(self, call: ResolverCall) -> str:
        self.attempts.attempted()
        return echo_text(call)

    async def aclose(self) -> None:
        return None
