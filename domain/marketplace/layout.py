"""Where everything lives inside the plugin folder (default ./.claude-plugin)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PluginLayout:
    """registry.json, flags.json, cache/<id>/<version>, tmp/<txId>, backups/, plugins/<id>."""

    root: Path

    @property
    def registry(self) -> Path:
        return self.root / "registry.json"

    @property
    def flags(self) -> Path:
        return self.root / "flags.json"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def cache_index(self) -> Path:
        return self.cache / "index.json"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def links(self) -> Path:
        return self.root / "plugins"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def telemetry(self) -> Path:
        return self.root / "logs" / "telemetry.jsonl"

    def cache_dir(self, plugin_id: str, version: str) -> Path:
        return self.cache / plugin_id / version

    def link(self, plugin_id: str) -> Path:
        return self.links / plugin_id

    def tx_dir(self, tx_id: str) -> Path:
        return self.tmp / tx_id

    def relative(self, path: Path) -> str:
        """A path inside the plugin folder as stored in registry.json and the cache index."""
        return path.relative_to(self.root).as_posix()

    def display(self, path: Path) -> str:
        """How a response shows a path: relative to the working folder when inside it."""
        absolute = Path(os.path.abspath(path))
        try:
            return absolute.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return absolute.as_posix()
