"""Run identifiers: ^[a-z0-9-_]{1,64}$, used verbatim under runs/; --out is runs/<run_id>."""

from __future__ import annotations

import re
import secrets

from common.clock import utc_now
from domain.chirality.errors import invalid_arguments

RUN_ID_PATTERN = r"^[a-z0-9-_]{1,64}$"
# \Z, not $: "$" also matches before a trailing newline, and "abc\n" is no run id.
_RUN_ID = re.compile(r"[a-z0-9_-]{1,64}\Z")
RUNS_DIR = "runs"


def is_valid_run_id(value: str) -> bool:
    """The pattern alone excludes "/", "\\", ".." and every other path trick."""
    return _RUN_ID.match(value) is not None


def check_run_id(value: str, *, what: str = "run_id") -> str:
    if not is_valid_run_id(value):
        raise invalid_arguments(
            f"invalid {what} {value!r}: it must match {RUN_ID_PATTERN} (lowercase letters, "
            f"digits, '-' and '_'; 1 to 64 characters; no path separators)", run_id=value)
    return value


def run_id_from_out(out: str) -> str:
    """The run_id of --out, which must be runs/<run_id> (a trailing slash is allowed)."""
    head, sep, run_id = out.removesuffix("/").partition("/")
    if head != RUNS_DIR or not sep or not is_valid_run_id(run_id):
        raise invalid_arguments(
            f"invalid --out {out!r}: it must be runs/<run_id>, with run_id matching "
            f"{RUN_ID_PATTERN} (no path separators, no '..')", out=out)
    return run_id


def new_run_id() -> str:
    """A fresh, valid, sortable run id: run-20260207-103000-3fa9c1."""
    return f"run-{utc_now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def manifest_ref(run_id: str) -> str:
    """The manifest's path as stdout reports it: relative to the runs root."""
    return f"{RUNS_DIR}/{run_id}/index.json"
