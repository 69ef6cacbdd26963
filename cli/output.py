"""Writing results: stdout carries the contract's output and nothing else."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

# C0/C1 controls, the Unicode line separators and lone surrogates (bytes that were not
# UTF-8): none of them belongs raw in a line of text output.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def to_json(data: Any, *, pretty: bool = False) -> str:
    """UTF-8-ready JSON text: non-ASCII as is, unless the data holds a lone surrogate (an
    argument's bytes that were not UTF-8, a \\ud800 escape in an input file), which UTF-8
    cannot encode; then everything non-ASCII is written as \\u escapes."""
    layout: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    text = json.dumps(data, ensure_ascii=False, **layout)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, **layout)
    return text


def printable(value: object) -> str:
    """A value for one line of text output: a newline in a name or a path is shown as \\n,
    an escape character as \\x1b, a byte that was not UTF-8 as \\udcff."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(value))


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
