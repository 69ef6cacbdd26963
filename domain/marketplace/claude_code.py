"""Claude Code's own marketplace format, mapped onto ours.

A Claude Code marketplace is a folder (or URL) with .claude-plugin/marketplace.json:
{name, owner, metadata?: {pluginRoot?}, plugins: [{name, source, version?, description?,
author?, category?, ...}]}, each plugin a folder with an optional
.claude-plugin/plugin.json {name, version?, description?, author?, hooks?, ...} beside
commands/, agents/, skills/ and hooks/. Mapping:

- the plugin id is the entry's name (kebab-case, as Claude Code requires);
- the version is plugin.json's (Claude Code gives it priority), else the entry's; a
  plugin with neither (many plugins of real marketplaces) gets a content version, 0.0.N
  with N the first 12 hex digits of its tree digest (see content_version); over HTTP,
  where a folder cannot be read, such a plugin cannot be installed (a clear error names
  the two places);
- there is no archive sha256: the tree digest taken at install is what is recorded and
  what the cache verifies from then on;
- compatibility absent means compatible; there are no lifecycle scripts (hooks run
  inside Claude Code, never at install);
- permissions are derived from what the plugin carries: hooks run commands (shell),
  MCP servers (network), commands, agents and skills prompt Claude (claude-api).

Sources other than a relative folder (github, git URLs, npm) cannot be fetched here:
such an entry is listed, and installing it says why it cannot be.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from common.errors import ContractError
from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import is_within, parse_json
from domain.marketplace.manifest import (
    MAX_MANIFEST_BYTES,
    Compatibility,
    Manifest,
    compatibility_of,
)
from domain.marketplace.semver import SemverError, Version

logger = logging.getLogger("conveyor.plugins.claude_code")

MANIFEST_PATH = ".claude-plugin/plugin.json"
HOOKS_FILE = "hooks/hooks.json"
MCP_FILE = ".mcp.json"
PLUGIN_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64


def is_claude_document(document: Any) -> bool:
    """Claude Code's format: no schemaVersion, and no entry with our id or versions."""
    if not isinstance(document, dict) or not isinstance(document.get("plugins"), list):
        return False
    return "schemaVersion" not in document and not any(
        isinstance(item, dict) and ("id" in item or "versions" in item)
        for item in document["plugins"])


def _bad(problem: str, field: str) -> ContractError:
    return plugin_error("ERROR-SCHEMA-004", f"{MANIFEST_PATH} is invalid: {problem}",
                        {"field": field, "problem": problem})


def is_semver(text: Any) -> bool:
    if not isinstance(text, str) or text.startswith("v"):
        return False
    try:
        Version.parse(text)
    except SemverError:
        return False
    return True


CONTENT_HEX = 12  # 48 bits: below 2**53, so N stays exact in JavaScript and npm's semver


def content_version(digest: str) -> str:
    """The version of an unversioned plugin whose tree digest is `digest`: 0.0.N.

    The original's schemas allow only X.Y.Z (no pre-release, no build metadata), so the
    digest goes into the patch number. It is deterministic (the same files give the same
    version on every machine), changes whenever a file does, and sorts below every
    version an author declares (from 0.1.0 up), so declaring one later is an update."""
    return f"0.0.{int(digest[:CONTENT_HEX], 16)}"


def is_content_version(version: str, digest: str) -> bool:
    """True when `version` is the content version of the tree `digest` names."""
    return len(digest) >= CONTENT_HEX and version == content_version(digest)


def parse_manifest(data: Any, root: Path, expected: tuple[str, str] | None) -> Manifest:
    """A Claude Code plugin.json (every field optional but name) as our Manifest."""
    if not isinstance(data, dict):
        raise _bad("must be an object", "/")
    name = data.get("name", expected[0] if expected else None)
    if not isinstance(name, str) or not name:
        raise _bad("name is required", "name")
    version = data.get("version", expected[1] if expected else None)
    if version is None:
        raise _bad("no version: give one in plugin.json or the marketplace entry", "version")
    if not is_semver(version):
        raise _bad("version must be a semantic version", "version")
    raw_compat = data.get("compatibility")
    compat = compatibility_of(raw_compat) if isinstance(raw_compat, dict) else Compatibility()
    return Manifest(name, str(version), compat, {}, permissions(data, root))


# ---- permissions from what the plugin carries --------------------------------------------

def _inside(root: Path, ref: Any) -> Path | None:
    """A path a manifest names, when it is a relative path that stays inside the plugin."""
    if not isinstance(ref, str) or not ref or os.path.isabs(ref):
        return None
    path = root / ref
    return path if is_within(path, root) and path.exists() else None


def _json_file(path: Path | None) -> Any:
    if path is None or not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
        return None
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError):
        return None


def _refs(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _hook_events(data: dict[str, Any], root: Path) -> list[str]:
    """Events whose hooks run a command: plugin.json's hooks (inline or files) and
    hooks/hooks.json, the file Claude Code reads by default."""
    default = _json_file(root / HOOKS_FILE)
    tables: list[Any] = [default.get("hooks") if isinstance(default, dict) else None]
    for ref in _refs(data.get("hooks")):
        if isinstance(ref, dict):
            tables.append(ref)
        else:
            loaded = _json_file(_inside(root, ref))
            tables.append(loaded.get("hooks") if isinstance(loaded, dict) else None)
    events: set[str] = set()
    for table in tables:
        if not isinstance(table, dict):
            continue
        for event, matchers in table.items():
            for matcher in matchers if isinstance(matchers, list) else []:
                hooks = matcher.get("hooks") if isinstance(matcher, dict) else None
                if any(isinstance(h, dict) and h.get("type") == "command"
                       for h in hooks or []):
                    events.add(str(event))
    return sorted(events)


def _mcp_servers(data: dict[str, Any], root: Path) -> list[str]:
    names: set[str] = set()
    loaded = _json_file(root / MCP_FILE)
    if isinstance(loaded, dict) and isinstance(loaded.get("mcpServers"), dict):
        names.update(loaded["mcpServers"])
    for ref in _refs(data.get("mcpServers")):
        table = ref if isinstance(ref, dict) else _json_file(_inside(root, ref))
        if isinstance(table, dict):
            inner = table.get("mcpServers")
            names.update(inner if isinstance(inner, dict) else table)
    return sorted(str(n) for n in names)


def _markdown_under(folder: Path, name: str | None = None) -> int:
    if folder.is_symlink() or not folder.is_dir():
        return 0
    return sum(1 for _dir, _dirs, files in os.walk(folder) for f in files
               if (f == name if name else f.endswith(".md")))


def _components(data: dict[str, Any], root: Path) -> list[str]:
    counts = {"command": _markdown_under(root / "commands"),
              "agent": _markdown_under(root / "agents"),
              "skill": _markdown_under(root / "skills", "SKILL.md")}
    for kind, key in (("command", "commands"), ("agent", "agents"), ("skill", "skills")):
        counts[kind] += sum(1 for ref in _refs(data.get(key)) if _inside(root, ref))
    return [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items() if n]


def permissions(data: dict[str, Any], root: Path) -> tuple[dict[str, Any], ...]:
    """Our permission declarations ({scope, reason}) for what a Claude Code plugin holds."""
    found: list[dict[str, Any]] = []
    events = _hook_events(data, root)
    if events:
        found.append({"scope": "shell", "reason": f"hooks run commands on {', '.join(events)}"})
    servers = _mcp_servers(data, root)
    if servers:
        found.append({"scope": "network", "reason": f"starts MCP servers: {', '.join(servers)}"})
    parts = _components(data, root)
    if parts:
        found.append({"scope": "claude-api", "reason": f"adds {', '.join(parts)}"})
    return tuple(found)


# ---- the marketplace document --------------------------------------------------------------

def plugin_source(item: dict[str, Any], plugin_root: Any) -> tuple[str | None, str | None]:
    """(relative folder source, None) or (None, why the source cannot be used)."""
    source = item.get("source")
    if isinstance(source, dict):
        kind = source.get("source", "?")
        return None, (f"its source is a {kind} source; only folders inside the marketplace "
                      "can be installed from a Claude Code marketplace")
    if not isinstance(source, str) or not source.strip():
        return None, "it has no source"
    rel = PurePosixPath(source)
    if isinstance(plugin_root, str) and plugin_root and not rel.is_absolute():
        rel = PurePosixPath(plugin_root) / rel
    text = rel.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return (text or "."), None


def manifest_version(folder: Path) -> str | None:
    """The version a plugin's own .claude-plugin/plugin.json gives, if it gives one."""
    data = _json_file(folder / MANIFEST_PATH)
    version = data.get("version") if isinstance(data, dict) else None
    return version if is_semver(version) else None


EntryFactory = Callable[..., Any]


def plugin_entries(document: dict[str, Any], peek: Callable[[str], str | None],
                   invalid: Callable[[str, str], ContractError],
                   make: EntryFactory, *, by_content: bool) -> dict[str, Any]:
    """Every entry with a usable name, as `make(id, version, source, problem)` builds it.

    peek(source) is the version of the plugin folder's own plugin.json (None if none).
    version None with no problem: versioned by content (by_content: the folders are local)."""
    metadata = document.get("metadata")
    plugin_root = metadata.get("pluginRoot") if isinstance(metadata, dict) else None
    plugins: dict[str, Any] = {}
    for i, item in enumerate(document["plugins"]):
        if not isinstance(item, dict):
            raise invalid(f"plugins[{i}]", "a plugin entry must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not PLUGIN_NAME.match(name) or len(name) > MAX_NAME:
            raise invalid(f"plugins[{i}].name", "a kebab-case name (at most 64) is required")
        if name in plugins:
            raise invalid(f"plugins[{i}].name", f"duplicate name {name}")
        source, problem = plugin_source(item, plugin_root)
        version = peek(source) if source else None
        if version is None and is_semver(item.get("version")):
            version = str(item["version"])
        if problem is None and version is None and not by_content:
            problem = (f"it has no version: set version in its {MANIFEST_PATH} or in its "
                       "marketplace entry (a folder read over HTTP cannot be versioned by "
                       "its content)")
        plugins[name] = make(name, version, source, problem)
    return plugins
