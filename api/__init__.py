"""The CLI contracts' JSON Schemas (Draft-07), shipped as package data.

api/cli-contracts/<command>.json sits beside this file both in a checkout and in an
installed package (pyproject.toml lists it as package data), so it is found by a path
relative to this module either way.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent / "cli-contracts"
COMMANDS = ("install", "update", "rollback")


def schema_path(command: str) -> Path:
    if command not in COMMANDS:
        raise KeyError(f"no contract schema for {command!r}")
    return CONTRACTS_DIR / f"{command}.json"


@cache
def load_schema(command: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(command).read_text(encoding="utf-8"))
    return schema
