"""Plain-text tables for people (JSON is for scripts)."""

from __future__ import annotations

from typing import Any

_JOB_COLUMNS = ("id", "status", "kind", "queue", "attempts", "created_at", "last_error")


def jobs_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no jobs"
    cells = [[_cell(row.get(col)) for col in _JOB_COLUMNS] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(_JOB_COLUMNS)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(_JOB_COLUMNS, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."
