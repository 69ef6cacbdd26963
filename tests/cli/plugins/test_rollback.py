"""`plugins rollback`: targets, the cache, the enableRollback flag, checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target, registry, snapshot
from tests.support.plugin_market import Market


@pytest.fixture
def history(plugins: PluginsCli, plugin_dir: Path) -> PluginsCli:
    """example-plugin installed at 1.2.0, then 1.2.3, then updated to 1.3.0; rollback on."""
    for version in ("1.2.0", "1.2.3"):
        plugins("install", "example-plugin", "--version", version)
    plugins("update", "example-plugin")
    (plugin_dir / "flags.json").write_text(json.dumps({"enableRollback": True}))
    return plugins


def test_rollback_is_off_by_default(plugins: PluginsCli, plugin_dir: Path) -> None:
    plugins("install", "example-plugin")
    call = plugins("rollback", "example-plugin")
    assert call.code == 1 and call.error_code == "ERR-ROLLBACK-001"


def test_rollback_to_the_previous_cached_version_needs_no_marketplace(
        history: PluginsCli, plugin_dir: Path, market: Market) -> None:
    # Given the marketplace is gone: a cached rollback must still work
    shutil.rmtree(market.root)
    # When
    call = history("rollback", "example-plugin", "--confirmation-token", "user-ok-1")
    # Then
    assert call.code == 0
    assert call.response["message"] == \
        "Successfully rolled back example-plugin from 1.3.0 to 1.2.3"
    data = call.data
    assert (data["fromVersion"], data["toVersion"]) == ("1.3.0", "1.2.3")
    assert data["cacheSource"] == "cached" and data["installState"] == "active"
    assert data["registryDelta"] == {"modified": ["example-plugin"]}
    assert data["flagEvaluations"]["source"] == "config"
    # The same compatibility checks as install ran (against this machine)
    assert data["flagEvaluations"]["appliedFlags"] == ["enableRollback",
                                                       "enableCompatibilityChecks"]
    assert call.response["telemetry"]["cacheStatus"] == "hit"
    assert call.response["telemetry"]["bytesDownloaded"] == 0
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.2.3"
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.2.3"
    checkpoint = json.loads((plugin_dir / "backups" / f"{data['checkpointId']}.json").read_text())
    assert checkpoint["confirmationToken"] == "user-ok-1"
    assert (checkpoint["fromVersion"], checkpoint["toVersion"]) == ("1.3.0", "1.2.3")
    before = json.loads((plugin_dir / "backups" / checkpoint["registryBackup"]).read_text())
    assert before["plugins"]["example-plugin"]["version"] == "1.3.0"


@pytest.mark.parametrize("alias", ["rb", "revert"])
def test_rollback_to_a_named_version(history: PluginsCli, plugin_dir: Path, alias: str) -> None:
    call = history(alias, "example-plugin", "--version", "1.2.0")
    assert call.data["toVersion"] == "1.2.0"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.2.0"


def test_list_targets(history: PluginsCli, plugin_dir: Path) -> None:
    before = snapshot(plugin_dir / "cache")
    call = history("rollback", "example-plugin", "--list-targets")
    assert call.code == 0
    targets = call.data["availableTargets"]
    assert [(t["version"], t["cached"]) for t in targets] == [("1.2.3", True), ("1.2.0", True)]
    assert targets[0]["cachePath"] == ".claude-plugin/cache/example-plugin/1.2.3"
    assert call.data["toVersion"] == "1.2.3" and call.data["fromVersion"] == "1.3.0"
    assert call.response["telemetry"]["registryMutations"] == 0
    assert snapshot(plugin_dir / "cache") == before


def test_cache_keeps_three_versions_and_rollback_downloads_when_allowed(
        history: PluginsCli, plugin_dir: Path) -> None:
    # Given a fourth version: the least recently used one (1.2.0) is evicted
    history("install", "example-plugin", "--version", "1.0.0")
    cached = sorted(p.name for p in (plugin_dir / "cache" / "example-plugin").iterdir())
    assert cached == ["1.0.0", "1.2.3", "1.3.0"]
    targets = history("rollback", "example-plugin", "--list-targets").data["availableTargets"]
    assert {t["version"]: t["cached"] for t in targets} == {"1.3.0": True, "1.2.3": True,
                                                             "1.2.0": False}
    # When cached-only: refused
    refused = history("rollback", "example-plugin", "--version", "1.2.0")
    assert refused.code == 1 and refused.error_code == "ERR-CACHE-001"
    # When download-if-missing: fetched from the marketplace
    call = history("rollback", "example-plugin", "--version", "1.2.0",
                   "--cache-preference", "download-if-missing")
    assert call.code == 0 and call.data["cacheSource"] == "downloaded"
    assert call.response["telemetry"]["cacheStatus"] == "miss"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.2.0"


def test_pinned_versions_are_never_evicted(history: PluginsCli, plugin_dir: Path) -> None:
    index_path = plugin_dir / "cache" / "index.json"
    index = json.loads(index_path.read_text())
    index["entries"]["example-plugin"]["1.2.0"]["pinned"] = True
    index_path.write_text(json.dumps(index))
    history("install", "example-plugin", "--version", "1.0.0")
    cached = sorted(p.name for p in (plugin_dir / "cache" / "example-plugin").iterdir())
    assert cached == ["1.0.0", "1.2.0", "1.3.0"]  # 1.2.3, not pinned, went instead


def test_rollback_targets_the_active_version_or_nothing(history: PluginsCli,
                                                        plugins: PluginsCli) -> None:
    same = history("rollback", "example-plugin", "--version", "1.3.0")
    assert same.code == 1 and same.error_code == "ERR-ROLLBACK-002"
    plugins("install", "another-plugin")
    alone = plugins("rollback", "another-plugin")
    assert alone.error_code == "ERR-ROLLBACK-002"
    missing = plugins("rollback", "stable-plugin")
    assert missing.error_code == "ERROR-DISC-004"


def test_flag_from_environment_and_from_override(plugins: PluginsCli,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("1.2.0", "1.3.0"):
        plugins("install", "example-plugin", "--version", version)
    call = plugins("rollback", "example-plugin", "--flag", "enableRollback=true", "--dry-run")
    assert call.response["status"] == "dry-run"
    assert call.data["flagEvaluations"]["source"] == "override"
    monkeypatch.setenv("YELLOW_PLUGINS_ENABLE_ROLLBACK", "1")
    call = plugins("rollback", "example-plugin")
    assert call.data["flagEvaluations"]["source"] == "config"
    off = plugins("rollback", "example-plugin", "--flag", "enableRollback=off")
    assert off.error_code == "ERR-ROLLBACK-001"


def test_dry_run_rollback_changes_nothing(history: PluginsCli, project: Path) -> None:
    before = snapshot(project)
    call = history("rollback", "example-plugin", "--dry-run")
    assert call.response["status"] == "dry-run" and call.data["installState"] == "staged"
    assert "checkpointId" not in call.data
    assert snapshot(project) == before


def test_invalid_flags_file_is_reported(plugins: PluginsCli, plugin_dir: Path) -> None:
    plugins("install", "example-plugin")
    (plugin_dir / "flags.json").write_text('{"enableRollback": "yes"}')
    call = plugins("rollback", "example-plugin")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-005"
