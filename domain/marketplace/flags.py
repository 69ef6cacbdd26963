"""Feature flags: request overrides, then the environment, then flags.json, then defaults.

A FlagSet remembers which flags a command consulted; those are the response's
appliedFlags, and its `source` is the strongest source among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.errors import ContractError
from config.plugins import FLAG_DEFAULTS
from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import read_json

OVERRIDE, ENV, FILE, DEFAULT = "override", "env", "file", "default"
# The catalog's FlagEvaluations.source: the environment and flags.json are both "config".
CATALOG_SOURCE = {OVERRIDE: "override", ENV: "config", FILE: "config", DEFAULT: "default"}
_RANK = {OVERRIDE: 0, ENV: 1, FILE: 2, DEFAULT: 3}


class FlagSet:
    def __init__(self, values: Mapping[str, bool], sources: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.sources = dict(sources)
        self.applied: list[str] = []

    def enabled(self, name: str) -> bool:
        """The flag's value, noting that this command's behaviour depended on it."""
        if name not in self.applied:
            self.applied.append(name)
        return self.values[name]

    def evaluations(self) -> dict[str, Any]:
        considered = self.applied or list(self.values)
        strongest = min((self.sources[name] for name in considered), key=_RANK.__getitem__,
                        default=DEFAULT)
        return {"flags": dict(self.values), "source": CATALOG_SOURCE[strongest],
                "appliedFlags": list(self.applied)}


def _invalid(path: Path, problem: str) -> ContractError:
    return plugin_error("ERROR-SCHEMA-005", f"{path.name} is invalid: {problem}",
                        {"path": str(path), "problem": problem})


def read_flags_file(path: Path) -> dict[str, bool]:
    """flags.json: {"enableRollback": true, ...}; unknown names and non-booleans refused."""
    try:
        data = read_json(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(path, f"not JSON ({exc})") from None
    except OSError as exc:
        raise _invalid(path, exc.strerror or str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _invalid(path, "must be an object")
    for name, value in data.items():
        if name not in FLAG_DEFAULTS:
            raise _invalid(path, f"unknown flag {name}; known: {', '.join(FLAG_DEFAULTS)}")
        if not isinstance(value, bool):
            raise _invalid(path, f"{name} must be true or false")
    return dict(data)


def resolve_flags(*, overrides: Mapping[str, bool], env: Mapping[str, bool],
                  file: Mapping[str, bool]) -> FlagSet:
    values: dict[str, bool] = {}
    sources: dict[str, str] = {}
    for name, default in FLAG_DEFAULTS.items():
        for source, layer in ((OVERRIDE, overrides), (ENV, env), (FILE, file)):
            if name in layer:
                values[name], sources[name] = layer[name], source
                break
        else:
            values[name], sources[name] = default, DEFAULT
    return FlagSet(values, sources)
