"""A click path type for hostile input: a name the OS cannot take is a usage error.

click.Path stats the value; a NUL byte or a character the file system encoding cannot
hold (a lone surrogate) makes os.stat raise ValueError, which click does not expect and
which would end the command as an internal error.
"""

from __future__ import annotations

from typing import Any

import click


class SafePath(click.Path):
    """click.Path that fails with a usage error for a path the OS cannot take."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except ValueError:
            self.fail(f"{value!r} is not a usable path (a NUL byte, or a character the "
                      f"file system cannot encode)", param, ctx)
