"""What text a database can hold (import-light: the CLIs check arguments with it)."""

from __future__ import annotations


def storable(value: str) -> bool:
    """Not text with lone surrogates (argument bytes that were not UTF-8: SQLite's driver
    cannot encode them) or NUL (PostgreSQL text refuses it). No row holds such a value,
    so a lookup by one can answer "none" without asking, and a write must refuse it."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
