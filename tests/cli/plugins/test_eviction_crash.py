"""The real `plugins` process killed at each step of a cache eviction (evict-* fault points):
the cache index, the active link and the folders are old-or-new, never half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.marketplace.faults import CRASH_EXIT_CODE
from domain.marketplace.fsutil import tree_digest
from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.cli.plugins.test_crash import plugins_process

POINTS = ("evict-journal", "evict-index", "evict-rename", "evict-delete")


def index_entries(plugin_dir: Path) -> dict[str, dict[str, object]]:
    return json.loads((plugin_dir / "cache" / "index.json").read_text())["entries"][  # type: ignore
        "example-plugin"]


def assert_consistent(plugin_dir: Path) -> None:
    """Every indexed version is whole; the active one is indexed, linked and whole."""
    cache = plugin_dir / "cache" / "example-plugin"
    entries = index_entries(plugin_dir)
    for version, entry in entries.items():
        assert tree_digest(cache / version) == entry["treeDigest"], version
    active = registry(plugin_dir)["example-plugin"]["version"]
    assert active in entries
    assert active_target(plugin_dir, "example-plugin") == f"../cache/example-plugin/{active}"


@pytest.fixture
def three_cached(plugins: PluginsCli, plugin_dir: Path) -> None:
    for version in ("1.0.0", "1.2.0", "1.2.3"):
        assert plugins("install", "example-plugin", "--version", version).code == 0
    (plugin_dir / "flags.json").write_text('{"enableRollback": true}')


@pytest.mark.usefixtures("three_cached")
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_eviction_step_is_old_or_new(project: Path, plugin_dir: Path,
                                                    plugins: PluginsCli, point: str) -> None:
    # When installing a fourth version evicts the least recently used (1.0.0), killed at point
    code, out = plugins_process(project, "install", "example-plugin", "--version", "1.3.0",
                                fault=f"{point}:exit")
    assert code == CRASH_EXIT_CODE and out == ""
    # Then the install itself is committed, and nothing half-deleted is indexed
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.3.0"
    assert_consistent(plugin_dir)
    old = point == "evict-journal"  # the index was not written yet: 1.0.0 is still whole
    assert ("1.0.0" in index_entries(plugin_dir)) is old
    # A rollback to 1.0.0 either activates a whole copy or refuses (never half a tree)
    call = plugins("rollback", "example-plugin", "--version", "1.0.0", "--list-targets")
    cached = {t["version"]: t["cached"] for t in call.data["availableTargets"]}
    assert cached["1.0.0"] is old
    # When the next mutating command runs, recovery finishes the eviction (or drops it)
    assert plugins("install", "example-plugin", "--version", "1.3.0").code == 0
    assert_consistent(plugin_dir)
    on_disk = {p.name for p in (plugin_dir / "cache" / "example-plugin").iterdir()}
    assert on_disk == set(index_entries(plugin_dir))
    assert len(on_disk) <= 3 or old
    assert list((plugin_dir / "tmp").iterdir()) == []
    refused = plugins("rollback", "example-plugin", "--version", "1.0.0")
    if "1.0.0" in on_disk:
        assert refused.code == 0
        assert tree_digest(plugin_dir / "cache" / "example-plugin" / "1.0.0") == \
            index_entries(plugin_dir)["1.0.0"]["treeDigest"]
    else:
        assert refused.code == 1 and refused.error_code == "ERR-CACHE-001"


@pytest.mark.usefixtures("three_cached")
def test_an_eviction_failing_in_process_is_settled_by_the_next_command(
        plugins: PluginsCli, plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_TEST_FAULT", "evict-rename:raise")
    call = plugins("install", "example-plugin", "--version", "1.3.0")
    assert call.code == 0  # committed: the eviction is cleanup, left to the next command
    assert "1.0.0" not in index_entries(plugin_dir)
    assert [p.name for p in (plugin_dir / "tmp").iterdir()] == \
        [f"evict-{call.response['transactionId']}"]
    monkeypatch.delenv("YELLOW_PLUGINS_TEST_FAULT")
    assert plugins("install", "another-plugin").code == 0
    assert {p.name for p in (plugin_dir / "cache" / "example-plugin").iterdir()} == \
        {"1.2.0", "1.2.3", "1.3.0"}
    assert list((plugin_dir / "tmp").iterdir()) == []


def test_the_active_and_pinned_versions_are_never_evicted(plugins: PluginsCli,
                                                          plugin_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_CACHE_KEEP_VERSIONS", "1")
    assert plugins("install", "example-plugin", "--version", "1.0.0").code == 0
    index_path = plugin_dir / "cache" / "index.json"
    index = json.loads(index_path.read_text())
    index["entries"]["example-plugin"]["1.0.0"]["pinned"] = True
    index_path.write_text(json.dumps(index))
    for version in ("1.2.0", "1.3.0"):
        assert plugins("install", "example-plugin", "--version", version).code == 0
    # 1.2.0 (neither active nor pinned) went; the pinned and the active stay
    assert set(index_entries(plugin_dir)) == {"1.0.0", "1.3.0"}
    assert_consistent(plugin_dir)
