"""A damaged cached version is never activated; rollback targets only the history and
runs install's compatibility checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.marketplace.fsutil import tree_digest
from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.support.plugin_market import Market


@pytest.fixture
def history(plugins: PluginsCli, plugin_dir: Path) -> PluginsCli:
    for version in ("1.2.0", "1.3.0"):
        assert plugins("install", "example-plugin", "--version", version).code == 0
    (plugin_dir / "flags.json").write_text(json.dumps({"enableRollback": True}))
    return plugins


def damage(plugin_dir: Path, version: str) -> Path:
    folder = plugin_dir / "cache" / "example-plugin" / version
    (folder / "commands" / "run.md").unlink()  # a file removed, as a half-finished delete
    return folder


def test_a_damaged_rollback_target_is_refused_when_cached_only(history: PluginsCli,
                                                               plugin_dir: Path) -> None:
    damage(plugin_dir, "1.2.0")
    targets = history("rollback", "example-plugin", "--list-targets").data["availableTargets"]
    assert targets == [{"version": "1.2.0", "cached": False, "installedAt": targets[0][
        "installedAt"]}]
    call = history("rollback", "example-plugin", "--version", "1.2.0")
    assert call.code == 1 and call.error_code == "ERR-CACHE-001"
    assert "damaged" in call.response["error"]["message"]
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.3.0"
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.3.0"


def test_a_damaged_rollback_target_is_fetched_again_when_allowed(history: PluginsCli,
                                                                 plugin_dir: Path) -> None:
    folder = damage(plugin_dir, "1.2.0")
    call = history("rollback", "example-plugin", "--version", "1.2.0",
                   "--cache-preference", "download-if-missing")
    assert call.code == 0 and call.data["cacheSource"] == "downloaded"
    assert (folder / "commands" / "run.md").exists()
    index = json.loads((plugin_dir / "cache" / "index.json").read_text())
    assert index["entries"]["example-plugin"]["1.2.0"]["treeDigest"] == tree_digest(folder)


def test_install_fetches_a_damaged_copy_again(history: PluginsCli, plugin_dir: Path) -> None:
    folder = damage(plugin_dir, "1.2.0")
    call = history("install", "example-plugin", "--version", "1.2.0")
    assert call.code == 0 and "was damaged; it was fetched again" in call.response["message"]
    assert call.response["telemetry"]["cacheStatus"] == "miss"
    assert (folder / "commands" / "run.md").exists()


def test_a_damaged_active_copy_is_installed_again(history: PluginsCli,
                                                  plugin_dir: Path) -> None:
    folder = damage(plugin_dir, "1.3.0")
    (folder / "extra-file").write_text("not from the marketplace")
    call = history("install", "example-plugin", "--version", "1.3.0")
    assert call.code == 0 and "already installed" not in call.response["message"]
    assert (folder / "commands" / "run.md").exists() and not (folder / "extra-file").exists()


@pytest.mark.parametrize("preference", ["cached-only", "download-if-missing"])
def test_rollback_to_a_never_installed_version_is_refused(plugins: PluginsCli, plugin_dir: Path,
                                                          preference: str) -> None:
    # The case: 2.0.0 was never installed (and needs Node.js 22)
    assert plugins("install", "incompatible-plugin", "--version", "1.0.0").code == 0
    call = plugins("rollback", "incompatible-plugin", "--version", "2.0.0",
                   "--cache-preference", preference, "--flag", "enableRollback=true")
    assert call.code == 1 and call.error_code == "ERR-ROLLBACK-002"
    assert "never installed" in call.response["error"]["message"]
    assert registry(plugin_dir)["incompatible-plugin"]["version"] == "1.0.0"
    assert not (plugin_dir / "cache" / "incompatible-plugin" / "2.0.0").exists()


@pytest.mark.parametrize("evicted", [False, True])
def test_rollback_runs_installs_compatibility_checks(plugins: PluginsCli, plugin_dir: Path,
                                                     market: Market, evicted: bool) -> None:
    # Given 2.0.0 installed on a machine with Node.js 22, then 1.0.0
    assert plugins("install", "incompatible-plugin", "--version", "2.0.0",
                   "--node-version", "22.1.0").code == 0
    assert plugins("install", "incompatible-plugin", "--version", "1.0.0").code == 0
    if evicted:
        index_path = plugin_dir / "cache" / "index.json"
        index = json.loads(index_path.read_text())
        del index["entries"]["incompatible-plugin"]["2.0.0"]
        index_path.write_text(json.dumps(index))
    # When rolling back to it on Node.js 20: what install says, install's code
    args = ("rollback", "incompatible-plugin", "--version", "2.0.0", "--flag",
            "enableRollback=true", "--cache-preference", "download-if-missing",
            "--node-version", "20.10.0")
    call = plugins(*args)
    assert call.code == 1 and call.error_code == "ERROR-COMPAT-003"
    assert registry(plugin_dir)["incompatible-plugin"]["version"] == "1.0.0"
    assert active_target(plugin_dir, "incompatible-plugin") == \
        "../cache/incompatible-plugin/1.0.0"
    # And with compatibility checks off, as for install, it goes through
    call = plugins(*args, "--flag", "enableCompatibilityChecks=false")
    assert call.code == 0 and call.data["toVersion"] == "2.0.0"
