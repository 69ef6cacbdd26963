"""The transaction journal (tmp/<txId>/journal.json) and recovery from it.

Each install or rollback writes its intent here before each irreversible step:
"staging", then "promoting" (which cache folder it fills, whether one was there),
then "activating" (the link's previous and new target). The registry write is the
commit point: a transaction is committed when registry.json names its transactionId.
`settle` finishes a committed transaction or undoes an uncommitted one; it runs in
process when a step fails, and at the start of the next command after a crash. The
cache index is saved before the journal goes, so a crash in between settles it again
(settling is idempotent) instead of leaving a cached folder the index does not know.
An interrupted eviction (eviction.py) leaves a journal here too; recovery settles it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.marketplace.activation import swap_link
from domain.marketplace.cache import CacheIndex, load_index, save_index
from domain.marketplace.eviction import is_eviction, settle_eviction
from domain.marketplace.fsutil import atomic_write_json, read_json, remove_path, tree_size
from domain.marketplace.layout import PluginLayout
from domain.marketplace.registry import Registry, load_registry

logger = logging.getLogger("conveyor.plugins.journal")

JOURNAL_FILE = "journal.json"
REPLACED = "replaced"
STAGING, PROMOTING, ACTIVATING = "staging", "promoting", "activating"


@dataclass
class Journal:
    layout: PluginLayout
    tx_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.layout.tx_dir(self.tx_id)

    def write(self, **fields: Any) -> None:
        self.data.update(fields, transactionId=self.tx_id)
        atomic_write_json(self.folder / JOURNAL_FILE, self.data)


def committed(registry: Registry, data: dict[str, Any]) -> bool:
    entry = registry.entry(str(data.get("pluginId", "")))
    return entry is not None and entry.get("transactionId") == data.get("transactionId")


def _undo(layout: PluginLayout, data: dict[str, Any]) -> None:
    """Put back what the transaction changed: the link, then the cache folder."""
    tx_dir = layout.tx_dir(str(data["transactionId"]))
    if data.get("phase") == ACTIVATING and data.get("linkPath"):
        swap_link(layout.root / data["linkPath"], data.get("previousTarget"))
    if data.get("phase") in (PROMOTING, ACTIVATING) and data.get("promotedPath"):
        promoted = layout.root / data["promotedPath"]
        replaced = tx_dir / REPLACED
        if replaced.exists():
            remove_path(promoted)
            os.rename(replaced, promoted)
        elif not data.get("hadExisting"):
            remove_path(promoted)  # it was created by this transaction


def _finish(layout: PluginLayout, index: CacheIndex, data: dict[str, Any], now: str) -> None:
    """Complete a committed transaction: index the promoted folder."""
    promoted = data.get("promotedPath")
    if promoted and data.get("phase") in (PROMOTING, ACTIVATING):
        plugin_id, version = str(data["pluginId"]), str(data["version"])
        index.record(plugin_id, version, path=promoted,
                     size=tree_size(layout.root / promoted), sha256=str(data.get("sha256", "")),
                     source=str(data.get("source", "")), now=now,
                     tree=data.get("treeDigest"))
    elif data.get("pluginId") and data.get("version"):
        index.touch(str(data["pluginId"]), str(data["version"]), now)


def settle(layout: PluginLayout, data: dict[str, Any], index: CacheIndex, now: str) -> bool:
    """Finish (committed) or undo (not committed) one transaction; True if committed.

    The index is saved (when finishing) before the journal is removed."""
    tx_dir = layout.tx_dir(str(data["transactionId"]))
    done = committed(load_registry(layout), data)
    if done:
        _finish(layout, index, data, now)
        save_index(layout, index)
    else:
        _undo(layout, data)
    remove_path(tx_dir)
    return done


def recover(layout: PluginLayout, now: str) -> list[str]:
    """Settle every transaction a crash left in tmp/; return their ids."""
    if not layout.tmp.is_dir():
        return []
    index = load_index(layout)
    settled = []
    for tx_dir in sorted(layout.tmp.iterdir()):
        try:
            data = read_json(tx_dir / JOURNAL_FILE)
        except (ValueError, OSError):
            data = None
        if not isinstance(data, dict) or "transactionId" not in data:
            remove_path(tx_dir)  # nothing was changed before the journal was written
            continue
        if is_eviction(data):
            if settle_eviction(layout, data, index, load_registry(layout).active_versions()):
                save_index(layout, index)
            logger.warning("settled interrupted cache eviction %s", data["transactionId"])
            settled.append(str(data["transactionId"]))
            continue
        done = settle(layout, data, index, now)
        logger.warning("recovered transaction %s of %s: %s", data["transactionId"],
                       data.get("pluginId"), "completed" if done else "rolled back")
        settled.append(str(data["transactionId"]))
    if settled:
        save_index(layout, index)
    return settled
