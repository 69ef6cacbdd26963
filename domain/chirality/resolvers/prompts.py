"""The chat messages the openai resolver sends: one request per resolver call."""

from __future__ import annotations

from domain.chirality.calls import CallKind, ResolverCall
from domain.chirality.problem import Problem

SYSTEM = (
    "You are the semantic resolver of the Chirality Framework, which maps the solution "
    "space of a problem through fixed matrices of ontological terms. You answer one step "
    "of one matrix cell at a time. Reply with the resulting text only: no preamble, no "
    "quotes, no markdown.\n\nThe problem: {title}\n{statement}"
)


def _cell(call: ResolverCall) -> str:
    c = call.cell
    return (f"matrix {c.matrix} (station \"{c.station}\"), row \"{c.row_label}\", "
            f"column \"{c.col_label}\"")


def user_prompt(call: ResolverCall) -> str:
    inputs = call.inputs
    if call.kind is CallKind.PAIR:
        return (f"Semantic multiplication for {_cell(call)}: resolve the word pair "
                f"\"{inputs[0]} * {inputs[1]}\" into one concise concept (a few words).")
    if call.kind is CallKind.COMBINE:
        listed = "\n".join(f"- {concept}" for concept in inputs)
        return (f"Combine these concepts of {_cell(call)} into one coherent statement, "
                f"keeping each one's meaning:\n{listed}")
    if call.kind is CallKind.LENS_COLUMN:
        return (f"Interpret the following through the column lens \"{call.cell.col_label}\" "
                f"of {_cell(call)}:\n{inputs[0]}")
    if call.kind is CallKind.LENS_ROW:
        return (f"Interpret the following through the row lens \"{call.cell.row_label}\" "
                f"of {_cell(call)}:\n{inputs[0]}")
    if call.kind is CallKind.SYNTHESIS:
        return (f"Synthesize the column reading and the row reading of {_cell(call)} into "
                f"one statement.\nColumn reading: {inputs[0]}\nRow reading: {inputs[1]}")
    if call.kind is CallKind.SHIFT:
        return (f"Shift this statement from the Verification station into the Validation "
                f"station for row \"{call.cell.row_label}\", column "
                f"\"{call.cell.col_label}\":\n{inputs[0]}")
    raise ValueError(f"unknown call kind {call.kind!r}")


def messages(call: ResolverCall, problem: Problem) -> list[dict[str, str]]:
    return [{"role": "system",
             "content": SYSTEM.format(title=problem.title, statement=problem.statement)},
            {"role": "user", "content": user_prompt(call)}]
