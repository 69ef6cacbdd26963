"""The version cache: cache/<pluginId>/<version>, indexed by cache/index.json.

Each plugin keeps at most `keep` versions (the least recently used go first); above the
size cap the least recently used versions go, across plugins. An active or pinned version
("pinned": true in its index entry) is never evicted, though it counts towards `keep`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from domain.marketplace.fsutil import atomic_write_json, read_json, remove_path
from domain.marketplace.layout import PluginLayout

logger = logging.getLogger("conveyor.plugins.cache")


@dataclass
class CacheIndex:
    entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def get(self, plugin_id: str, version: str) -> dict[str, Any] | None:
        return self.entries.get(plugin_id, {}).get(version)

    def record(self, plugin_id: str, version: str, *, path: str, size: int, sha256: str,
               source: str, now: str) -> None:
        old = self.get(plugin_id, version) or {}
        self.entries.setdefault(plugin_id, {})[version] = {
            "path": path, "sizeBytes": size, "sha256": sha256, "source": source,
            "cachedAt": now, "lastUsedAt": now, "pinned": bool(old.get("pinned", False))}

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
            and isinstance(entry.get("pinned", False), bool))


def save_index(layout: PluginLayout, index: CacheIndex) -> None:
    atomic_write_json(layout.cache_index, {"schemaVersion": 1, "entries": index.entries})


def is_cached(layout: PluginLayout, index: CacheIndex, plugin_id: str, version: str,
              sha256: str | None = None) -> bool:
    """In the index, present on disk, and (when given) from the same source digest."""
    entry = index.get(plugin_id, version)
    if entry is None or not layout.cache_dir(plugin_id, version).is_dir():
        return False
    return sha256 is None or entry.get("sha256") == sha256


def _protected(index: CacheIndex, active: dict[str, str], plugin_id: str, version: str) -> bool:
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
            if not _protected(index, active, plugin_id, version):
                doomed.append((plugin_id, version))
                excess -= 1
    remaining = index.total_bytes() - sum(
        int(index.entries[p][v].get("sizeBytes", 0)) for p, v in doomed)
    candidates = sorted(((p, v) for p, vs in index.entries.items() for v in vs
                         if (p, v) not in doomed and not _protected(index, active, p, v)),
                        key=lambda pv: index.entries[pv[0]][pv[1]]["lastUsedAt"])
    for plugin_id, version in candidates:
        if remaining <= max_bytes:
            break
        doomed.append((plugin_id, version))
        remaining -= int(index.entries[plugin_id][version].get("sizeBytes", 0))
    return doomed


def evict(layout: PluginLayout, index: CacheIndex, active: dict[str, str], *, keep: int,
          max_bytes: int) -> list[tuple[str, str]]:
    """Remove the planned versions from disk and index (index saved by the caller)."""
    removed = []
    for plugin_id, version in eviction_plan(index, active, keep=keep, max_bytes=max_bytes):
        try:
            remove_path(layout.cache_dir(plugin_id, version))
        except OSError as exc:
            logger.warning("could not evict %s@%s: %s", plugin_id, version, exc)
            continue
        index.drop(plugin_id, version)
        removed.append((plugin_id, version))
    return removed
