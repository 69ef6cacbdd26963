"""plugin.json: the plugin's own description, read from the root of its folder.

Required: name, version, description, author, entrypoints, compatibility, permissions.
Optional: lifecycle {preInstall, install, postInstall, uninstall: "scripts/<x>.sh|js"}.
A plugin in Claude Code's own format has .claude-plugin/plugin.json instead (or no
manifest at all): claude_code.py maps it onto the same Manifest, and manifest_loader.py
reads whichever a plugin folder has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import ContractError
from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import parse_json
from domain.marketplace.semver import SemverError, Version

MANIFEST_FILE = "plugin.json"
MAX_MANIFEST_BYTES = 1024 * 1024
SCRIPT_TYPES = ("preInstall", "install", "postInstall", "uninstall")
SCRIPT_PATH = re.compile(r"^scripts/.+\.(sh|js)$")
REQUIRED = ("name", "version", "description", "author", "entrypoints", "compatibility",
            "permissions")


@dataclass(frozen=True)
class Compatibility:
    claude_min: Version | None = None
    claude_max: Version | None = None
    node_min: int | None = None  # a major version
    os: tuple[str, ...] | None = None  # linux, macos, windows
    arch: tuple[str, ...] | None = None  # x64, arm64


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    compatibility: Compatibility
    lifecycle: dict[str, str]
    permissions: tuple[Any, ...] = ()


def _bad(problem: str, field: str) -> ContractError:
    return plugin_error("ERROR-SCHEMA-004", f"plugin.json is invalid: {problem}",
                        {"field": field, "problem": problem})


def read_manifest_json(path: Path) -> Any:
    """A manifest file's JSON (ERROR-SCHEMA-004 when too large or not JSON)."""
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise _bad(f"larger than {MAX_MANIFEST_BYTES} bytes", "/")
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"not JSON ({exc})", "/") from None


def parse_manifest(data: Any) -> Manifest:
    if not isinstance(data, dict):
        raise _bad("must be an object", "/")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise _bad(f"missing {', '.join(missing)}", missing[0])
    for key, kind in (("name", str), ("version", str), ("description", str),
                      ("entrypoints", dict), ("compatibility", dict), ("permissions", list)):
        if not isinstance(data[key], kind):
            raise _bad(f"{key} must be {'an object' if kind is dict else kind.__name__}", key)
    if not isinstance(data["author"], str | dict):
        raise _bad("author must be a string or an object", "author")
    return Manifest(data["name"], data["version"], compatibility_of(data["compatibility"]),
                    _lifecycle(data.get("lifecycle", {})), tuple(data["permissions"]))


def _version(raw: Any, field: str) -> Version | None:
    if raw is None:
        return None
    try:
        return Version.parse(str(raw))
    except SemverError:
        raise _bad(f"{field} must be a semantic version", field) from None


def _names(raw: Any, field: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _bad(f"{field} must be an array of strings", field)
    return tuple(x.lower() for x in raw)


def _node_min(raw: Any) -> int | None:
    if raw is None:
        return None
    match = re.match(r"^\s*(?:>=\s*)?v?(\d+)(?:\.\d+){0,2}\s*$", str(raw))
    if match is None or isinstance(raw, bool):
        raise _bad("compatibility.nodeMin must be a major version such as 18",
                   "compatibility.nodeMin")
    return int(match.group(1))


def compatibility_of(raw: dict[str, Any]) -> Compatibility:
    return Compatibility(
        claude_min=_version(raw.get("claudeCodeMin"), "compatibility.claudeCodeMin"),
        claude_max=_version(raw.get("claudeCodeMax"), "compatibility.claudeCodeMax"),
        node_min=_node_min(raw.get("nodeMin")),
        os=_names(raw.get("os"), "compatibility.os"),
        arch=_names(raw.get("arch"), "compatibility.arch"),
    )


def _lifecycle(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _bad("lifecycle must be an object", "lifecycle")
    scripts: dict[str, str] = {}
    for script_type, path in raw.items():
        if script_type not in SCRIPT_TYPES:
            raise _bad(f"unknown lifecycle script {script_type}", f"lifecycle.{script_type}")
        if not isinstance(path, str) or not SCRIPT_PATH.match(path) or ".." in path.split("/"):
            raise _bad(f"lifecycle.{script_type} must match {SCRIPT_PATH.pattern}",
                       f"lifecycle.{script_type}")
        scripts[script_type] = path
    return scripts
