"""`plugins install` against a local marketplace folder: the transaction and its answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.plugins import TELEMETRY_ENV_ALLOWLIST
from tests.cli.plugins.conftest import PluginsCli, active_target, registry, snapshot
from tests.support.plugin_market import Market, plugin_files, sha256, tar_gz


def test_install_latest_activates_it_and_records_it(plugins: PluginsCli, plugin_dir: Path) -> None:
    # When
    call = plugins("install", "example-plugin")
    # Then
    assert call.code == 0
    assert call.response["success"] is True and call.response["status"] == "success"
    assert call.response["message"] == "Successfully installed example-plugin@1.3.0"
    assert call.data["installState"] == "active"
    assert call.data["cachePath"] == ".claude-plugin/cache/example-plugin/1.3.0"
    assert call.data["symlinkTarget"] == ".claude-plugin/plugins/example-plugin"
    assert call.data["registryDelta"] == {"added": ["example-plugin"], "modified": []}
    assert call.response["telemetry"]["registryMutations"] == 1
    assert call.response["telemetry"]["cacheStatus"] == "miss"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.3.0"
    assert (plugin_dir / "plugins" / "example-plugin" / "plugin.json").is_file()
    entry = registry(plugin_dir)["example-plugin"]
    assert entry["version"] == "1.3.0" and entry["installState"] == "INSTALLED"
    assert entry["transactionId"] == call.response["transactionId"]
    assert list((plugin_dir / "tmp").iterdir()) == []


@pytest.mark.parametrize("alias", ["i", "add"])
def test_aliases_install_a_specific_version(plugins: PluginsCli, plugin_dir: Path,
                                            alias: str) -> None:
    call = plugins(alias, "example-plugin", "--version", "1.2.3")
    assert call.data["version"] == "1.2.3"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.2.3"


def test_every_source_format_installs(plugins: PluginsCli, plugin_dir: Path) -> None:
    # tar.gz, zip and a plain folder source
    for plugin_id in ("example-plugin", "another-plugin", "stable-plugin"):
        assert plugins("install", plugin_id).code == 0
    assert set(registry(plugin_dir)) == {"example-plugin", "another-plugin", "stable-plugin"}
    assert (plugin_dir / "plugins" / "stable-plugin" / "commands" / "run.md").is_file()


def test_changing_version_is_a_modification_and_keeps_history(plugins: PluginsCli,
                                                               plugin_dir: Path) -> None:
    plugins("install", "example-plugin", "--version", "1.2.0")
    call = plugins("install", "example-plugin", "--version", "1.3.0")
    assert call.data["registryDelta"] == {"added": [], "modified": ["example-plugin"]}
    assert call.response["message"].endswith("(was 1.2.0)")
    history = registry(plugin_dir)["example-plugin"]["history"]
    assert [h["version"] for h in history] == ["1.2.0", "1.3.0"]


def test_reinstalling_the_active_version_changes_nothing(plugins: PluginsCli,
                                                         plugin_dir: Path) -> None:
    plugins("install", "example-plugin")
    before = snapshot(plugin_dir / "cache")
    call = plugins("install", "example-plugin")
    assert call.code == 0 and "already installed" in call.response["message"]
    assert call.response["telemetry"]["registryMutations"] == 0
    assert call.data["registryDelta"] == {"added": [], "modified": []}
    assert snapshot(plugin_dir / "cache") == before


def test_force_reinstalls_from_the_source(plugins: PluginsCli, plugin_dir: Path) -> None:
    first = plugins("install", "example-plugin")
    marker = plugin_dir / "cache" / "example-plugin" / "1.3.0" / "local-edit"
    marker.write_text("changed by hand")
    call = plugins("install", "example-plugin", "--force")
    assert call.response["status"] == "success"
    assert call.response["telemetry"]["cacheStatus"] == "miss"
    assert not marker.exists()
    assert registry(plugin_dir)["example-plugin"]["transactionId"] != \
        first.response["transactionId"]


def test_reinstalling_a_cached_version_is_a_cache_hit(plugins: PluginsCli) -> None:
    plugins("install", "example-plugin", "--version", "1.2.0")
    plugins("install", "example-plugin", "--version", "1.3.0")
    call = plugins("install", "example-plugin", "--version", "1.2.0")
    assert call.response["telemetry"]["cacheStatus"] == "hit"
    assert call.data["installState"] == "active"


def test_dry_run_changes_nothing_and_reports_a_synthetic_transaction(plugins: PluginsCli,
                                                                     project: Path) -> None:
    plugins("install", "another-plugin")
    before = snapshot(project)
    call = plugins("install", "example-plugin", "--dry-run")
    assert call.code == 0
    assert call.response["status"] == "dry-run" and call.response["success"] is True
    assert call.response["transactionId"].startswith("txn-dry-")
    assert call.response["telemetry"]["registryMutations"] == 0
    assert call.data["installState"] == "staged"
    assert snapshot(project) == before


def test_dry_run_in_an_empty_project_creates_no_plugin_folder(plugins: PluginsCli,
                                                              plugin_dir: Path) -> None:
    assert plugins("install", "example-plugin", "--dry-run").code == 0
    assert not plugin_dir.exists()


def test_dry_run_still_checks_the_checksum(plugins: PluginsCli, market: Market) -> None:
    market.add("broken-plugin", "1.0.0", sha="0" * 64)
    call = plugins("install", "broken-plugin", "--dry-run")
    assert call.code == 1 and call.error_code == "ERROR-INST-005"


def test_unknown_plugin_and_version(plugins: PluginsCli) -> None:
    missing = plugins("install", "no-such-plugin")
    assert missing.code == 1 and missing.error_code == "ERROR-DISC-001"
    version = plugins("install", "example-plugin", "--version", "9.9.9")
    assert version.error_code == "ERROR-DISC-003"
    assert version.response["error"]["context"]["available"] == ["1.0.0", "1.2.0", "1.2.3",
                                                                 "1.3.0"]


def test_checksum_mismatch_leaves_the_previous_version_active(plugins: PluginsCli,
                                                               market: Market,
                                                               plugin_dir: Path) -> None:
    # Given 1.0.0 installed and a 1.1.0 whose archive does not match its sha256
    plugins("install", "example-plugin", "--version", "1.0.0")
    market.add("example-plugin", "1.1.0", sha="ab" * 32)
    before = snapshot(plugin_dir)
    # When
    call = plugins("install", "example-plugin", "--version", "1.1.0")
    # Then
    assert call.code == 1 and call.error_code == "ERROR-INST-005"
    assert call.response["error"]["category"] == "INTEGRITY"
    assert call.response["error"]["context"]["expected"] == "ab" * 32
    assert call.response["error"]["context"]["step"] == "STAGE"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.0.0"
    assert not (plugin_dir / "cache" / "example-plugin" / "1.1.0").exists()
    after = {k: v for k, v in snapshot(plugin_dir).items() if not k.startswith("logs")}
    assert after == {k: v for k, v in before.items() if not k.startswith("logs")}


def test_manifest_must_match_the_marketplace_entry(plugins: PluginsCli, market: Market) -> None:
    market.add("odd-plugin", "1.0.0", manifest_override={"version": "1.0.1"})
    call = plugins("install", "odd-plugin")
    assert call.error_code == "ERR-INSTALL-001"


def test_invalid_manifest_is_refused(plugins: PluginsCli, market: Market) -> None:
    market.add("bad-manifest", "1.0.0", manifest_override={"permissions": "all"})
    call = plugins("install", "bad-manifest")
    assert call.error_code == "ERROR-SCHEMA-004"
    assert call.response["error"]["context"]["field"] == "permissions"


def test_unsafe_archive_is_refused_and_nothing_installed(plugins: PluginsCli, market: Market,
                                                         plugin_dir: Path,
                                                         tmp_path: Path) -> None:
    files = plugin_files("evil-plugin", "1.0.0")
    files["../../escaped.txt"] = b"gotcha"
    archive = tar_gz(files, market.root / "archives" / "evil.tar.gz")
    market.plugins["evil-plugin"] = [{"version": "1.0.0", "source": "archives/evil.tar.gz",
                                      "sha256": sha256(archive)}]
    market.write()
    call = plugins("install", "evil-plugin")
    assert call.error_code == "ERROR-INST-002"
    assert not list(tmp_path.rglob("escaped.txt"))
    assert "evil-plugin" not in registry(plugin_dir)
    assert list((plugin_dir / "tmp").iterdir()) == []


def test_size_limits_are_enforced(plugins: PluginsCli, market: Market,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    market.add("big-plugin", "1.0.0", files={"data.bin": "x" * (2 * 1024 * 1024)})
    monkeypatch.setenv("YELLOW_PLUGINS_MAX_EXTRACT_MB", "1")
    call = plugins("install", "big-plugin")
    assert call.error_code == "ERROR-INST-003"


def test_source_leaving_the_marketplace_is_refused(plugins: PluginsCli, market: Market,
                                                   tmp_path: Path) -> None:
    outside = tar_gz(plugin_files("sneaky-plugin", "1.0.0"), tmp_path / "outside.tar.gz")
    (market.root / "link-out.tar.gz").symlink_to(outside)
    for source in ("../outside.tar.gz", str(outside), "link-out.tar.gz"):
        market.plugins["sneaky-plugin"] = [{"version": "1.0.0", "source": source,
                                            "sha256": "0" * 64}]
        market.write()
        call = plugins("install", "sneaky-plugin")
        assert call.error_code == "ERROR-PERM-002", source


def test_missing_or_invalid_marketplace(plugins: PluginsCli, market: Market,
                                        monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    monkeypatch.delenv("YELLOW_PLUGINS_MARKETPLACE")
    none = plugins("install", "example-plugin")
    assert none.error_code == "ERROR-DISC-002" and "--marketplace" in none.response["message"]
    empty = plugins("install", "example-plugin", "--marketplace", str(tmp_path))
    assert empty.error_code == "ERROR-DISC-002"
    (market.root / "marketplace.json").write_text(json.dumps({"plugins": [{"id": "Bad Id"}]}))
    invalid = plugins("install", "example-plugin", "--marketplace", str(market.root))
    assert invalid.error_code == "ERROR-DISC-002"
    assert invalid.response["error"]["context"]["at"] == "plugins[0].id"


def test_plugin_dir_option_and_setting(plugins: PluginsCli, project: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    call = plugins("install", "example-plugin", "--plugin-dir", "custom")
    assert call.data["cachePath"] == "custom/cache/example-plugin/1.3.0"
    monkeypatch.setenv("YELLOW_PLUGINS_DIR", str(project / "from-env"))
    call = plugins("install", "example-plugin")
    assert call.data["symlinkTarget"] == "from-env/plugins/example-plugin"


def test_a_real_folder_where_the_link_goes_is_not_replaced(plugins: PluginsCli,
                                                           plugin_dir: Path) -> None:
    mine = plugin_dir / "plugins" / "example-plugin"
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_text("mine")
    call = plugins("install", "example-plugin")
    assert call.error_code == "ERROR-INST-004"
    assert (mine / "keep.txt").read_text() == "mine"


def test_telemetry_event_is_written_and_redacted(plugins: PluginsCli, plugin_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-log-me")
    request = {"pluginId": "example-plugin", "correlationId": "corr-telemetry",
               "compatibilityIntent": {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"},
               "telemetryContext": {"sessionId": "s-1", "tags": {
                   "remote": "https://ci:hunter2@git.example.com/repo.git",
                   "workdir": f"{tmp_path}/work"}}}
    call = plugins("install", "--input", "-", stdin=json.dumps(request))
    assert call.code == 0
    lines = (plugin_dir / "logs" / "telemetry.jsonl").read_text().splitlines()
    event = json.loads(lines[-1])
    assert event["correlationId"] == "corr-telemetry" and event["status"] == "success"
    assert set(event["stepsMs"]) >= {"VALIDATE", "STAGE", "EXTRACT", "PROMOTE", "ACTIVATE"}
    assert event["telemetryContext"]["tags"]["remote"] == "https://ci:***@git.example.com/repo.git"
    assert event["telemetryContext"]["tags"]["workdir"] == "~/work"
    assert event["environment"]["CI"] == "true"
    assert set(event["environment"]) <= set(TELEMETRY_ENV_ALLOWLIST)
    text = "\n".join(lines)
    assert "hunter2" not in text and "do-not-log-me" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
