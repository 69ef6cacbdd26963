"""The version cache: cache/<pluginId>/<version>, indexed by cache/index.json.

Every index entry carries the version's tree digest (fsutil.tree_digest of its folder,
taken when it was cached); a version is usable only while its folder still has that
digest, so a damaged or half-deleted copy is never activated. Each plugin keeps at most
`keep` versions (the least recently used go first); above the size cap the least
recently used versions go, across plugins. An active or pinned version ("pinned": true
in its index entry) is never evicted, though it counts towards `keep`. Eviction itself
is in eviction.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from domain.marketplace.fsutil import atomic_write_json, read_json, tree_digest
from domain.marketplace.layout import PluginLayout

logger = logging.getLogger("conveyor.plugins.cache")

# What cache_state says of one version.
USABLE, MISSING, DAMAGED = "usable", "missing", "damaged"


@dataclass
class CacheIndex:
    entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def get(self, plugin_id: str, version: str) -> dict[str, Any] | None:
        return self.entries.get(plugin_id, {}).get(version)

    def record(self, plugin_id: str, version: str, *, path: str, size: int, sha256: str,
               source: str, now: str, tree: str | None = None) -> None:
        old = self.get(plugin_id, version) or {}
        entry: dict[str, Any] = {
            "path": path, "sizeBytes": size, "sha256": sha256, "source": source,
            "cachedAt": now, "lastUsedAt": now, "pinned": bool(old.get("pinned", False))}
        if tree:
            entry["treeDigest"] = tree
        self.entries.setdefault(plugin_id, {})[version] = entry

    def put(self, plugin_id: str, version: str, entry: dict[str, Any]) -> None:
        """Put back an entry as it was (an undone eviction)."""
        self.entries.setdefault(plugin_id, {})[version] = dict(entry)

    def touch(self, plugin_id: str, version: str, now: str) -> None:
        entry = self.get(plugin_id, version)
        if entry is not None:
            entry["lastUsedAt"] = now

    def drop(self, plugin_id: str, version: str) -> None:
        versions = self.entries.get(plugin_id, {})
        versions.pop(version, None)
        if not versions:
            self.entries.pop(plugin_id, None)

    def total_bytes(self) -> int:
        return sum(int(e.get("sizeBytes", 0)) for v in self.entries.values() for e in v.values())


def load_index(layout: PluginLayout) -> CacheIndex:
    try:
        data = read_json(layout.cache_index)
    except (ValueError, OSError):
        # The index only speeds things up: a broken one is rebuilt as entries are cached.
        logger.warning("cache index %s unreadable; starting a new one", layout.cache_index)
        return CacheIndex()
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return CacheIndex()
    entries = {plugin_id: {version: entry for version, entry in versions.items()
                           if _usable_entry(entry)}
               for plugin_id, versions in data["entries"].items() if isinstance(versions, dict)}
    return CacheIndex({plugin_id: versions for plugin_id, versions in entries.items()
                       if versions})


def _usable_entry(entry: Any) -> bool:
    """An index entry of the shape `record` writes; others are dropped like a broken index
    (the folder under cache/ stays; the entry comes back when that version is cached)."""
    return (isinstance(entry, dict)
            and all(isinstance(entry.get(k), str) for k in ("path", "lastUsedAt"))
            and isinstance(entry.get("sizeBytes", 0), int)
            and not isinstance(entry.get("sizeBytes", 0), bool)
            and isinstance(entry.get("sha256", ""), str)
            and isinstance(entry.get("treeDigest", ""), str)
            and isinstance(entry.get("pinned", False), bool))


def save_index(layout: PluginLayout, index: CacheIndex) -> None:
    atomic_write_json(layout.cache_index, {"schemaVersion": 1, "entries": index.entries})


def is_cached(layout: PluginLayout, index: CacheIndex, plugin_id: str, version: str,
              sha256: str | None = None) -> bool:
    """In the index, present on disk, and (when given) from the same source digest.

    A quick look that reads no file: activation asks cache_state, which does."""
    entry = index.get(plugin_id, version)
    folder = layout.cache_dir(plugin_id, version)
    if entry is None or folder.is_symlink() or not folder.is_dir():
        return False
    return sha256 is None or entry.get("sha256") == sha256


def expected_tree(entry: dict[str, Any]) -> str:
    """The digest the folder must have. An entry from before tree digests were recorded
    has only its source digest, which is the tree digest when the source was a folder
    (an archive's differs: such a copy counts as damaged and is fetched again)."""
    return str(entry.get("treeDigest") or entry.get("sha256") or "")


def cache_state(layout: PluginLayout, index: CacheIndex, plugin_id: str, version: str,
                sha256: str | None = None) -> str:
    """USABLE (indexed, on disk, its files as cached), MISSING, or DAMAGED (indexed and
    there, but a file was removed, added or changed since)."""
    if not is_cached(layout, index, plugin_id, version, sha256):
        return MISSING
    entry = index.get(plugin_id, version) or {}
    try:
        actual = tree_digest(layout.cache_dir(plugin_id, version))
    except (OSError, ValueError) as exc:  # unreadable file, name that is not UTF-8
        logger.warning("cannot digest %s@%s: %s", plugin_id, version, exc)
        return DAMAGED
    if actual != expected_tree(entry):
        logger.warning("cached %s@%s is damaged: tree digest %s, recorded %s", plugin_id,
                       version, actual, expected_tree(entry))
        return DAMAGED
    return USABLE


def protected(index: CacheIndex, active: dict[str, str], plugin_id: str, version: str) -> bool:
    entry = index.get(plugin_id, version) or {}
    return active.get(plugin_id) == version or bool(entry.get("pinned"))


def eviction_plan(index: CacheIndex, active: dict[str, str], *, keep: int,
                  max_bytes: int) -> list[tuple[str, str]]:
    """Which (pluginId, version) to evict: beyond `keep` per plugin, then LRU above the cap."""
    doomed: list[tuple[str, str]] = []
    for plugin_id, versions in index.entries.items():
        # Protected versions count towards `keep` but are never the ones to go.
        oldest_first = sorted(versions, key=lambda v: versions[v]["lastUsedAt"])
        excess = len(versions) - keep
        for version in oldest_first:
            if excess <= 0:
                break
            if not protected(index, active, plugin_id, version):
                doomed.append((plugin_id, version))
                excess -= 1
    remaining = index.total_bytes() - sum(
        int(index.entries[p][v].get("sizeBytes", 0)) for p, v in doomed)
    candidates = sorted(((p, v) for p, vs in index.entries.items() for v in vs
                         if (p, v) not in doomed and not protected(index, active, p, v)),
                        key=lambda pv: index.entries[pv[0]][pv[1]]["lastUsedAt"])
    for plugin_id, version in candidates:
        if remaining <= max_bytes:
            break
        doomed.append((plugin_id, version))
        remaining -= int(index.entries[plugin_id][version].get("sizeBytes", 0))
    return doomed
