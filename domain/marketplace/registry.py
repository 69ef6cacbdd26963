"""registry.json: which version of each plugin is installed and active, and its history.

Written atomically (temporary file, fsync, rename); the previous file is copied to
backups/registry.<txId>.json first, and only the newest backups are kept. An entry:
{pluginId, version, installState: "INSTALLED", cachePath, linkPath, sha256, source,
 marketplace, installedAt, updatedAt, transactionId, history: [{version, installedAt,
 transactionId}]}. The history is what rollback offers.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from typing import Any

from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import atomic_write_json, read_json
from domain.marketplace.layout import PluginLayout

SCHEMA_VERSION = 1
INSTALLED = "INSTALLED"
HISTORY_LIMIT = 20


@dataclass
class Registry:
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, plugin_id: str) -> dict[str, Any] | None:
        return self.plugins.get(plugin_id)

    def active_version(self, plugin_id: str) -> str | None:
        entry = self.entry(plugin_id)
        return str(entry["version"]) if entry else None

    def active_versions(self) -> dict[str, str]:
        return {pid: str(e["version"]) for pid, e in self.plugins.items()}

    def copy(self) -> Registry:
        return Registry(copy.deepcopy(self.plugins))

    def activate(self, plugin_id: str, version: str, *, tx_id: str, now: str,
                 **fields: Any) -> None:
        """Make version the active one, moving it to the end of the history."""
        entry = self.plugins.setdefault(plugin_id, {"pluginId": plugin_id, "history": []})
        history = [h for h in entry.get("history", []) if h["version"] != version]
        previous = next((h for h in entry.get("history", []) if h["version"] == version), None)
        installed_at = previous["installedAt"] if previous else now
        history.append({"version": version, "installedAt": installed_at, "transactionId": tx_id})
        entry.update(fields)
        entry.update({"version": version, "installState": INSTALLED, "updatedAt": now,
                      "transactionId": tx_id, "history": history[-HISTORY_LIMIT:]})
        entry.setdefault("installedAt", now)


def load_registry(layout: PluginLayout) -> Registry:
    try:
        data = read_json(layout.registry)
    except (ValueError, OSError) as exc:
        raise plugin_error("ERROR-INST-004", f"registry.json cannot be read: {exc}",
                           {"path": str(layout.registry), "backups": str(layout.backups)},
                           ) from None
    if data is None:
        return Registry()
    if not isinstance(data, dict) or not isinstance(data.get("plugins"), dict):
        raise plugin_error("ERROR-INST-004", "registry.json is not a plugin registry",
                           {"path": str(layout.registry), "backups": str(layout.backups)})
    for plugin_id, entry in data["plugins"].items():
        problem = _entry_problem(plugin_id, entry)
        if problem:
            # A hand-edited or damaged entry is not guessed at: the backups hold good ones.
            raise plugin_error("ERROR-INST-004", f"registry.json is not a plugin registry: "
                               f"plugins.{plugin_id} {problem}",
                               {"path": str(layout.registry), "backups": str(layout.backups)})
    return Registry(data["plugins"])


# The fields an entry must carry as text, and those of each step of its history.
_ENTRY_TEXT = ("pluginId", "version")
_ENTRY_OPTIONAL_TEXT = ("installState", "cachePath", "linkPath", "sha256", "source",
                        "marketplace", "installedAt", "updatedAt", "transactionId")
_HISTORY_TEXT = ("version", "installedAt", "transactionId")


def _entry_problem(plugin_id: str, entry: Any) -> str | None:
    """What is wrong with one registry entry, or None."""
    if not isinstance(entry, dict):
        return "is not an object"
    for name in _ENTRY_TEXT:
        if not isinstance(entry.get(name), str):
            return f"has no text {name}"
    if entry["pluginId"] != plugin_id:
        return "names another plugin"
    for name in _ENTRY_OPTIONAL_TEXT:
        if name in entry and not isinstance(entry[name], str):
            return f"has a {name} that is not text"
    history = entry.get("history", [])
    if not isinstance(history, list) or not all(
            isinstance(step, dict) and all(isinstance(step.get(k), str) for k in _HISTORY_TEXT)
            for step in history):
        return "has a history that is not a list of {version, installedAt, transactionId}"
    return None


def backup_name(tx_id: str) -> str:
    return f"registry.{tx_id}.json"


def save_registry(layout: PluginLayout, registry: Registry, *, tx_id: str, now: str,
                  keep: int) -> str | None:
    """Back up the current file, then replace it atomically; return the backup's name."""
    backup = None
    if layout.registry.exists():
        layout.backups.mkdir(parents=True, exist_ok=True)
        backup = backup_name(tx_id)
        shutil.copy2(layout.registry, layout.backups / backup)
    atomic_write_json(layout.registry, {"schemaVersion": SCHEMA_VERSION, "updatedAt": now,
                                        "plugins": registry.plugins})
    _prune_backups(layout, keep)
    return backup


def _prune_backups(layout: PluginLayout, keep: int) -> None:
    backups = sorted(layout.backups.glob("registry.*.json"), key=lambda p: p.stat().st_mtime)
    for old in backups[:-keep]:
        old.unlink(missing_ok=True)
