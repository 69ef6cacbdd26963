"""Writing results: stdout carries the contract's output and nothing else."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def to_json(data: Any, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def emit_json(data: Any, *, pretty: bool = False, stream: TextIO | None = None) -> None:
    """Write one JSON document and a newline, then flush (a reader may be waiting on it)."""
    target = stream or sys.stdout
    target.write(to_json(data, pretty=pretty) + "\n")
    target.flush()


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
