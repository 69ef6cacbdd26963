"""A plugin folder's manifest, in whichever format it has: ours (plugin.json at the root)
or Claude Code's (.claude-plugin/plugin.json, or none at all for a marketplace entry)."""

from __future__ import annotations

from pathlib import Path

from domain.marketplace import claude_code, manifest
from domain.marketplace.errors import plugin_error
from domain.marketplace.manifest import Manifest


def _is_file(path: Path) -> bool:
    return not path.is_symlink() and path.is_file()


def load_manifest(root: Path, *, expected: tuple[str, str] | None = None) -> Manifest:
    """Our plugin.json at the root; else Claude Code's .claude-plugin/plugin.json; else,
    when `expected` (name, version) is given, a Claude Code plugin with no manifest."""
    path = root / manifest.MANIFEST_FILE
    if _is_file(path):
        return manifest.parse_manifest(manifest.read_manifest_json(path))
    claude = root / claude_code.MANIFEST_PATH
    if _is_file(claude):
        return claude_code.parse_manifest(manifest.read_manifest_json(claude), root, expected)
    if expected is not None:
        return claude_code.parse_manifest({"name": expected[0]}, root, expected)
    raise plugin_error("ERROR-INST-001", "plugin.json is missing from the plugin's root "
                       f"(and there is no {claude_code.MANIFEST_PATH})",
                       {"expected": manifest.MANIFEST_FILE})
