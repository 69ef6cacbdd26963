"""Crash-safe cache eviction: the index first, then the folders out of the way, then gone.

An eviction writes its journal (tmp/evict-<txId>/journal.json: every version it evicts
with its index entry) before anything else, then saves the index without those versions
(one atomic write: from then on nothing offers them), then renames each folder into the
journal's folder, then deletes them. A process killed at any step leaves either the old
state (journal only: the index still lists everything, every folder is whole) or the new
one (the index no longer lists the versions; their folders are whole in cache/ or
partly deleted in tmp/, where nothing looks). The next mutating command's recovery
finishes the latter and drops the former's journal. The active version and pinned ones
are never planned; should one be found active at recovery, it is put back.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from domain.marketplace.cache import CacheIndex, eviction_plan, save_index
from domain.marketplace.faults import Faults
from domain.marketplace.fsutil import atomic_write_json, remove_path
from domain.marketplace.layout import PluginLayout

logger = logging.getLogger("conveyor.plugins.eviction")

KIND = "eviction"
JOURNAL_FILE = "journal.json"


def journal_id(tx_id: str) -> str:
    return f"evict-{tx_id}"


def is_eviction(data: dict[str, Any]) -> bool:
    return data.get("kind") == KIND


def _trash(folder: Path, plugin_id: str, version: str) -> Path:
    return folder / f"{plugin_id}@{version}"


def _delete(path: Path, faults: Faults) -> None:
    """Remove a moved-out folder (the evict-delete fault point kills it half-way)."""
    for folder, _dirs, files in os.walk(path):
        if files:
            os.unlink(os.path.join(folder, files[0]))
            break
    faults.hit("evict-delete")
    remove_path(path)


def evict(layout: PluginLayout, index: CacheIndex, active: dict[str, str], *, keep: int,
          max_bytes: int, tx_id: str, faults: Faults) -> list[tuple[str, str]]:
    """Evict what eviction_plan names; the index is saved here (it is the first change)."""
    doomed = eviction_plan(index, active, keep=keep, max_bytes=max_bytes)
    if not doomed:
        return []
    folder = layout.tmp / journal_id(tx_id)
    entries = [{"pluginId": p, "version": v, "entry": index.get(p, v)} for p, v in doomed]
    atomic_write_json(folder / JOURNAL_FILE, {"kind": KIND, "transactionId": journal_id(tx_id),
                                              "entries": entries})
    faults.hit("evict-journal")
    for plugin_id, version in doomed:
        index.drop(plugin_id, version)
    save_index(layout, index)
    faults.hit("evict-index")
    _move_out_and_delete(layout, folder, doomed, faults)
    return doomed


def _move_out_and_delete(layout: PluginLayout, folder: Path, doomed: list[tuple[str, str]],
                         faults: Faults) -> None:
    for plugin_id, version in doomed:
        cached, trash = layout.cache_dir(plugin_id, version), _trash(folder, plugin_id, version)
        if cached.exists() or cached.is_symlink():
            remove_path(trash)  # a copy moved out before a crash, if any
            os.rename(cached, trash)
            faults.hit("evict-rename")
    for plugin_id, version in doomed:
        _delete(_trash(folder, plugin_id, version), faults)
    remove_path(folder)


def settle_eviction(layout: PluginLayout, data: dict[str, Any], index: CacheIndex,
                    active: dict[str, str]) -> bool:
    """Finish or undo an interrupted eviction; True when the index changed (save it)."""
    folder = layout.tmp / str(data["transactionId"])
    items = [(str(e["pluginId"]), str(e["version"]), e.get("entry") or {})
             for e in data.get("entries", []) if isinstance(e, dict)]
    if any(index.get(p, v) is not None for p, v, _ in items):
        # The index was never written: nothing moved, the old state stands.
        remove_path(folder)
        return False
    changed = False
    doomed = []
    for plugin_id, version, entry in items:
        if active.get(plugin_id) != version:
            doomed.append((plugin_id, version))
            continue
        # Never planned for an active version; should one be, it goes back where it was.
        cached, trash = layout.cache_dir(plugin_id, version), _trash(folder, plugin_id, version)
        if trash.exists() and not cached.exists():
            os.rename(trash, cached)
        if entry:
            index.put(plugin_id, version, entry)
            changed = True
    _move_out_and_delete(layout, folder, doomed, Faults(None))
    return changed

