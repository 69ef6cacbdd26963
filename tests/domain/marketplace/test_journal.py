"""Recovery from the journal, for every window a crash can hit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domain.marketplace.activation import swap_link
from domain.marketplace.journal import ACTIVATING, PROMOTING, STAGING, Journal, recover
from domain.marketplace.layout import PluginLayout
from domain.marketplace.registry import Registry, save_registry

NOW = "2026-01-11T10:00:00.000Z"


@pytest.fixture
def layout(tmp_path: Path) -> PluginLayout:
    """p@1.0.0 installed and active."""
    layout = PluginLayout(tmp_path / ".claude-plugin")
    old = layout.cache_dir("p", "1.0.0")
    old.mkdir(parents=True)
    (old / "plugin.json").write_text("old")
    swap_link(layout.link("p"), "../cache/p/1.0.0")
    registry = Registry()
    registry.activate("p", "1.0.0", tx_id="txn-first", now=NOW)
    save_registry(layout, registry, tx_id="txn-first", now=NOW, keep=5)
    return layout


def journal(layout: PluginLayout, **fields: object) -> Journal:
    entry = Journal(layout, "txn-dead")
    entry.write(pluginId="p", **fields)
    return entry


def test_staging_only_is_discarded(layout: PluginLayout) -> None:
    entry = journal(layout, version="2.0.0", phase=STAGING)
    (entry.folder / "root").mkdir()
    assert recover(layout, NOW) == ["txn-dead"]
    assert not entry.folder.exists()


def test_promoting_before_the_old_copy_moved_keeps_it(layout: PluginLayout) -> None:
    # Crash after the journal said "promoting over an existing 1.0.0" but before any rename.
    journal(layout, version="1.0.0", phase=PROMOTING, promotedPath="cache/p/1.0.0",
            hadExisting=True)
    recover(layout, NOW)
    assert (layout.cache_dir("p", "1.0.0") / "plugin.json").read_text() == "old"


def test_promoting_with_the_old_copy_aside_puts_it_back(layout: PluginLayout) -> None:
    entry = journal(layout, version="1.0.0", phase=PROMOTING, promotedPath="cache/p/1.0.0",
                    hadExisting=True)
    os.rename(layout.cache_dir("p", "1.0.0"), entry.folder / "replaced")
    recover(layout, NOW)
    assert (layout.cache_dir("p", "1.0.0") / "plugin.json").read_text() == "old"


def test_new_version_promoted_but_not_committed_is_removed(layout: PluginLayout) -> None:
    layout.cache_dir("p", "2.0.0").mkdir()
    journal(layout, version="2.0.0", phase=ACTIVATING, promotedPath="cache/p/2.0.0",
            hadExisting=False, linkPath="plugins/p", previousTarget="../cache/p/1.0.0")
    swap_link(layout.link("p"), "../cache/p/2.0.0")
    recover(layout, NOW)
    assert os.readlink(layout.link("p")) == "../cache/p/1.0.0"
    assert not layout.cache_dir("p", "2.0.0").exists()


def test_first_install_not_committed_removes_the_link(tmp_path: Path) -> None:
    layout = PluginLayout(tmp_path)
    layout.cache_dir("q", "1.0.0").mkdir(parents=True)
    swap_link(layout.link("q"), "../cache/q/1.0.0")
    entry = Journal(layout, "txn-dead")
    entry.write(pluginId="q", version="1.0.0", phase=ACTIVATING, promotedPath="cache/q/1.0.0",
                hadExisting=False, linkPath="plugins/q", previousTarget=None)
    recover(layout, NOW)
    assert not layout.link("q").is_symlink() and not layout.cache_dir("q", "1.0.0").exists()


def test_nothing_to_recover(tmp_path: Path) -> None:
    assert recover(PluginLayout(tmp_path / "none"), NOW) == []
