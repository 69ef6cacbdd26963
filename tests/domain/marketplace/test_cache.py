"""Cache eviction: versions per plugin, LRU above the cap, never active or pinned."""

from __future__ import annotations

from pathlib import Path

from domain.marketplace.cache import CacheIndex, eviction_plan, load_index
from domain.marketplace.eviction import evict
from domain.marketplace.faults import Faults
from domain.marketplace.layout import PluginLayout


def index_of(*entries: tuple[str, str, int, str], pinned: tuple[str, ...] = ()) -> CacheIndex:
    index = CacheIndex()
    for plugin_id, version, size, used in entries:
        index.record(plugin_id, version, path=f"cache/{plugin_id}/{version}", size=size,
                     sha256="x", source="s", now=used)
        if f"{plugin_id}@{version}" in pinned:
            index.entries[plugin_id][version]["pinned"] = True
    return index


def test_keeps_the_most_recently_used_versions_per_plugin() -> None:
    index = index_of(("a", "1.0.0", 1, "t1"), ("a", "1.1.0", 1, "t2"), ("a", "1.2.0", 1, "t3"),
                     ("a", "1.3.0", 1, "t4"), ("b", "1.0.0", 1, "t1"))
    assert eviction_plan(index, {"a": "1.3.0"}, keep=3, max_bytes=100) == [("a", "1.0.0")]


def test_active_and_pinned_count_but_never_go() -> None:
    index = index_of(("a", "1.0.0", 1, "t1"), ("a", "1.1.0", 1, "t2"), ("a", "1.2.0", 1, "t3"),
                     ("a", "1.3.0", 1, "t4"), pinned=("a@1.1.0",))
    plan = eviction_plan(index, {"a": "1.0.0"}, keep=2, max_bytes=100)
    assert plan == [("a", "1.2.0"), ("a", "1.3.0")]


def test_lru_across_plugins_above_the_size_cap() -> None:
    index = index_of(("a", "1.0.0", 50, "t1"), ("b", "1.0.0", 50, "t2"),
                     ("a", "2.0.0", 50, "t3"), ("b", "2.0.0", 50, "t4"))
    active = {"a": "2.0.0", "b": "2.0.0"}
    assert eviction_plan(index, active, keep=3, max_bytes=150) == [("a", "1.0.0")]
    assert eviction_plan(index, active, keep=3, max_bytes=100) == [("a", "1.0.0"),
                                                                   ("b", "1.0.0")]
    # Still over the cap afterwards: the active versions stay regardless.
    assert eviction_plan(index, active, keep=3, max_bytes=1) == [("a", "1.0.0"), ("b", "1.0.0")]


def test_evict_removes_folders_and_entries(tmp_path: Path) -> None:
    layout = PluginLayout(tmp_path)
    index = index_of(("a", "1.0.0", 1, "t1"), ("a", "2.0.0", 1, "t2"))
    for version in ("1.0.0", "2.0.0"):
        layout.cache_dir("a", version).mkdir(parents=True)
    removed = evict(layout, index, {"a": "2.0.0"}, keep=1, max_bytes=100, tx_id="txn-1",
                    faults=Faults(None))
    assert removed == [("a", "1.0.0")]
    assert not layout.cache_dir("a", "1.0.0").exists() and layout.cache_dir("a", "2.0.0").exists()
    assert set(load_index(layout).entries["a"]) == {"2.0.0"}  # saved by evict, first
    assert list(layout.tmp.iterdir()) == []


def test_unreadable_index_starts_over(tmp_path: Path) -> None:
    layout = PluginLayout(tmp_path)
    layout.cache.mkdir()
    layout.cache_index.write_text("{broken")
    assert load_index(layout).entries == {}


def test_tree_digest_sorts_whole_lines_as_documented(tmp_path: Path) -> None:
    # An independent reference: the lines written out by hand, sorted as whole lines
    # (kind letter first), so "f b" comes before "x a" although "a" < "b".
    import hashlib
    import os

    from domain.marketplace.fsutil import tree_digest

    (tmp_path / "a.sh").write_bytes(b"run")
    (tmp_path / "a.sh").chmod(0o755)
    (tmp_path / "b.md").write_bytes(b"doc")
    os.symlink("b.md", tmp_path / "c")
    lines = [f"x a.sh {hashlib.sha256(b'run').hexdigest()}\n",
             f"f b.md {hashlib.sha256(b'doc').hexdigest()}\n", "l c b.md\n"]
    expected = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    assert "".join(sorted(lines)).startswith("f b.md")
    assert tree_digest(tmp_path) == expected


def test_a_removed_file_makes_a_cached_version_damaged(tmp_path: Path) -> None:
    from domain.marketplace.cache import DAMAGED, MISSING, USABLE, cache_state
    from domain.marketplace.fsutil import tree_digest

    layout = PluginLayout(tmp_path)
    folder = layout.cache_dir("a", "1.0.0")
    folder.mkdir(parents=True)
    for name in ("one", "two"):
        (folder / name).write_text(name)
    index = CacheIndex()
    index.record("a", "1.0.0", path="cache/a/1.0.0", size=6, sha256="x", source="s", now="t",
                 tree=tree_digest(folder))
    assert cache_state(layout, index, "a", "1.0.0") == USABLE
    (folder / "two").unlink()
    assert cache_state(layout, index, "a", "1.0.0") == DAMAGED
    assert cache_state(layout, index, "a", "2.0.0") == MISSING
