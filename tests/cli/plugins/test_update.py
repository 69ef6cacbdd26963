"""`plugins update`: one plugin or all, check-only, ranges, partial results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target, registry, snapshot
from tests.support.plugin_market import Market


@pytest.fixture
def installed(plugins: PluginsCli) -> PluginsCli:
    """example-plugin 1.2.0, another-plugin 2.0.0, stable-plugin 1.0.0 (latest),
    incompatible-plugin 1.0.0 (its 2.0.0 needs Node.js 22)."""
    for plugin_id, version in (("example-plugin", "1.2.0"), ("another-plugin", "2.0.0"),
                               ("stable-plugin", "1.0.0"), ("incompatible-plugin", "1.0.0")):
        assert plugins("install", plugin_id, "--version", version).code == 0
    return plugins


def test_update_one_plugin(installed: PluginsCli, plugin_dir: Path) -> None:
    call = installed("update", "example-plugin")
    assert call.code == 0 and call.response["status"] == "success"
    assert call.data["updated"] == [{"pluginId": "example-plugin", "fromVersion": "1.2.0",
                                     "toVersion": "1.3.0", "installState": "active"}]
    assert call.data["registryDelta"] == {"modified": ["example-plugin"]}
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.3.0"


@pytest.mark.parametrize("alias", ["up", "upgrade"])
def test_aliases(installed: PluginsCli, alias: str) -> None:
    assert installed(alias, "another-plugin").data["updated"][0]["toVersion"] == "2.1.0"


def test_update_all_with_one_incompatible_plugin_is_partial(installed: PluginsCli,
                                                            plugin_dir: Path) -> None:
    # When
    call = installed("update", "--all")
    # Then: two updated, one up to date, the incompatible one skipped; exit 0
    assert call.code == 0
    assert call.response["status"] == "partial" and call.response["success"] is True
    assert call.response["message"] == "Updated 2 plugin(s), 1 already up-to-date, 1 skipped"
    assert {(u["pluginId"], u["toVersion"]) for u in call.data["updated"]} == {
        ("example-plugin", "1.3.0"), ("another-plugin", "2.1.0")}
    assert call.data["upToDate"] == ["stable-plugin"]
    [skipped] = call.data["skipped"]
    assert skipped["pluginId"] == "incompatible-plugin"
    assert skipped["errorCode"] == "ERROR-COMPAT-003"
    assert "Requires Node.js >= 22, current: 20.10.0" in skipped["reason"]
    assert call.response["telemetry"]["registryMutations"] == 2
    assert registry(plugin_dir)["incompatible-plugin"]["version"] == "1.0.0"


def test_check_only_lists_updates_and_changes_nothing(installed: PluginsCli,
                                                      plugin_dir: Path, market: Market) -> None:
    market.plugins["example-plugin"][-1]["changelogUrl"] = "https://example.test/changes"
    market.write()
    before = snapshot(plugin_dir / "cache")
    call = installed("update", "--all", "--check-only")
    assert call.code == 0 and call.response["status"] == "success"
    assert call.data["updated"] == []
    assert {u["pluginId"]: u["latestVersion"] for u in call.data["availableUpdates"]} == {
        "example-plugin": "1.3.0", "another-plugin": "2.1.0", "incompatible-plugin": "2.0.0"}
    example = next(u for u in call.data["availableUpdates"] if u["pluginId"] == "example-plugin")
    assert example == {"pluginId": "example-plugin", "currentVersion": "1.2.0",
                       "latestVersion": "1.3.0", "changelogUrl": "https://example.test/changes"}
    assert call.response["telemetry"]["registryMutations"] == 0
    assert snapshot(plugin_dir / "cache") == before


@pytest.mark.parametrize(("constraint", "expected"), [
    ("~1.2.0", "1.2.3"), ("^1.2", "1.3.0"), (">=1 <1.3", "1.2.3"), ("1.2.x", "1.2.3"),
    ("1.2.3 || 1.3.0", "1.3.0"), ("=1.2.3", "1.2.3"),
])
def test_version_constraint_picks_the_highest_match(installed: PluginsCli, constraint: str,
                                                    expected: str) -> None:
    call = installed("update", "example-plugin", "--version-constraint", constraint)
    assert call.data["updated"][0]["toVersion"] == expected


def test_constraint_without_newer_match_is_up_to_date(installed: PluginsCli) -> None:
    call = installed("update", "example-plugin", "--version-constraint", "<1.2.0")
    assert call.code == 0 and call.data["upToDate"] == ["example-plugin"]


def test_constraint_matching_nothing_is_an_error(installed: PluginsCli) -> None:
    call = installed("update", "example-plugin", "--version-constraint", ">=5")
    assert call.code == 1 and call.error_code == "ERROR-DISC-003"
    assert call.data["skipped"][0]["errorCode"] == "ERROR-DISC-003"


@pytest.mark.parametrize("constraint", ["not-a-range", "1.2.3; rm -rf /", "^^1"])
def test_invalid_constraint_is_a_usage_error(installed: PluginsCli, constraint: str) -> None:
    call = installed("update", "example-plugin", "--version-constraint", constraint)
    assert call.code == 2 and call.error_code in ("ERR-UPDATE-002", "ERROR-SCHEMA-001")


def test_single_incompatible_update_is_an_error_with_data(installed: PluginsCli) -> None:
    call = installed("update", "incompatible-plugin")
    assert call.code == 1 and call.error_code == "ERROR-COMPAT-003"
    assert call.data["skipped"][0]["pluginId"] == "incompatible-plugin"


def test_update_all_when_every_update_fails(plugins: PluginsCli) -> None:
    plugins("install", "incompatible-plugin", "--version", "1.0.0")
    call = plugins("update", "--all")
    assert call.code == 1 and call.error_code == "ERROR-COMPAT-003"
    assert call.response["success"] is False


def test_update_of_a_plugin_not_installed(plugins: PluginsCli) -> None:
    call = plugins("update", "example-plugin")
    assert call.code == 1 and call.error_code == "ERROR-DISC-004"


def test_update_all_with_nothing_installed(plugins: PluginsCli) -> None:
    call = plugins("update", "--all")
    assert call.code == 0 and call.data["updated"] == [] and call.data["skipped"] == []


def test_plugin_gone_from_the_marketplace_is_skipped(installed: PluginsCli,
                                                     market: Market) -> None:
    del market.plugins["stable-plugin"]
    market.write()
    call = installed("update", "--all")
    assert call.response["status"] == "partial"
    assert {s["pluginId"]: s["errorCode"] for s in call.data["skipped"]}["stable-plugin"] == \
        "ERROR-DISC-001"


def test_dry_run_update_changes_nothing(installed: PluginsCli, project: Path) -> None:
    before = snapshot(project)
    call = installed("update", "--all", "--dry-run")
    assert call.response["status"] == "dry-run"
    assert {u["installState"] for u in call.data["updated"]} == {"staged"}
    assert call.response["telemetry"]["registryMutations"] == 0
    assert snapshot(project) == before


@pytest.mark.parametrize("args", [["update"], ["update", "example-plugin", "--all"]])
def test_id_or_all_is_required(plugins: PluginsCli, args: list[str]) -> None:
    call = plugins(*args)
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002"


def test_update_request_needs_id_or_all(plugins: PluginsCli, tmp_path: Path) -> None:
    request = {"compatibilityIntent": {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"}}
    call = plugins("update", "--input", "-", stdin=json.dumps(request))
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-001"
    both = plugins("update", "--input", "-",
                   stdin=json.dumps({**request, "all": True, "pluginId": "x"}))
    assert both.code == 2 and both.response["error"]["context"]["keyword"] == "oneOf"
