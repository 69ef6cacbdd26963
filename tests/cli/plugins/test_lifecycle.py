"""Lifecycle scripts through `plugins install`: flags, consent by digest, failures, isolation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.support.plugin_market import Market

PRE = 'echo "pre $YELLOW_PLUGIN_VERSION" >> "$YELLOW_PLUGIN_ID.log"'
POST = 'pwd > where.txt; env > env.txt; echo "post ran"'


def digest(body: str) -> str:
    return "sha256:" + hashlib.sha256(f"#!/bin/sh\n{body}\n".encode()).hexdigest()


@pytest.fixture
def scripted(market: Market) -> Market:
    market.add("scripted-plugin", "1.0.0", scripts={"preInstall": PRE, "postInstall": POST})
    market.add("scripted-plugin", "2.0.0", scripts={"preInstall": PRE, "postInstall": "exit 3"})
    market.add("slow-plugin", "1.0.0", scripts={"install": "sleep 30"})
    return market


@pytest.fixture
def hooks_on(plugin_dir: Path) -> None:
    plugin_dir.mkdir()
    (plugin_dir / "flags.json").write_text(json.dumps({"enableLifecycleHooks": True}))


def consents(*pairs: tuple[str, str]) -> list[str]:
    return [arg for kind, body in pairs for arg in ("--consent", f"{kind}={digest(body)}")]


def test_hooks_off_installs_without_running_scripts(plugins: PluginsCli, scripted: Market,
                                                    plugin_dir: Path) -> None:
    call = plugins("install", "scripted-plugin", "--version", "1.0.0")
    assert call.code == 0
    assert call.data["lifecycleScripts"] == []
    assert "enableLifecycleHooks is off" in call.response["message"]
    assert "enableLifecycleHooks" in call.data["flagEvaluations"]["appliedFlags"]
    assert not (plugin_dir / "plugins" / "scripted-plugin" / "where.txt").exists()


@pytest.mark.usefixtures("hooks_on")
def test_missing_consent_is_refused_naming_the_digests(plugins: PluginsCli, scripted: Market,
                                                       plugin_dir: Path) -> None:
    # When: consent for one script only
    call = plugins("install", "scripted-plugin", "--version", "1.0.0",
                   *consents(("preInstall", PRE)))
    # Then: refused before anything ran or changed
    assert call.code == 1 and call.error_code == "ERROR-PERM-001"
    required = call.response["error"]["context"]["requiredConsent"]
    assert required == [{"scriptType": "postInstall", "path": "scripts/postInstall.sh",
                         "digest": digest(POST)}]
    assert "scripted-plugin" not in registry(plugin_dir)
    assert not (plugin_dir / "cache" / "scripted-plugin").exists()
    assert active_target(plugin_dir, "scripted-plugin") is None


@pytest.mark.usefixtures("hooks_on")
def test_consent_to_other_bytes_is_refused(plugins: PluginsCli, scripted: Market) -> None:
    call = plugins("install", "scripted-plugin", "--version", "1.0.0",
                   *consents(("preInstall", PRE), ("postInstall", POST + " # edited")))
    assert call.error_code == "ERROR-PERM-001"


@pytest.mark.usefixtures("hooks_on")
def test_consented_scripts_run_in_the_plugin_folder_with_a_scrubbed_environment(
        plugins: PluginsCli, scripted: Market, plugin_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_value")
    call = plugins("install", "scripted-plugin", "--version", "1.0.0",
                   *consents(("preInstall", PRE), ("postInstall", POST)))
    assert call.code == 0
    runs = call.data["lifecycleScripts"]
    assert [(r["scriptType"], r["exitCode"], r["digest"]) for r in runs] == [
        ("preInstall", 0, digest(PRE)), ("postInstall", 0, digest(POST))]
    assert all(r["durationMs"] >= 0 for r in runs)
    assert call.response["telemetry"]["lifecycleScriptsRun"] == 2
    installed = plugin_dir / "cache" / "scripted-plugin" / "1.0.0"
    assert (installed / "scripted-plugin.log").read_text() == "pre 1.0.0\n"
    assert Path((installed / "where.txt").read_text().strip()) == installed.resolve()
    env = dict(line.split("=", 1) for line in (installed / "env.txt").read_text().splitlines()
               if "=" in line)
    assert env["YELLOW_PLUGIN_ID"] == "scripted-plugin"
    assert env["YELLOW_PLUGIN_SCRIPT"] == "postInstall"
    assert "GITHUB_TOKEN" not in env and "YELLOW_PLUGINS_MARKETPLACE" not in env


@pytest.mark.usefixtures("hooks_on")
def test_failing_script_leaves_the_previous_version_active(plugins: PluginsCli,
                                                           scripted: Market,
                                                           plugin_dir: Path) -> None:
    plugins("install", "scripted-plugin", "--version", "1.0.0",
            *consents(("preInstall", PRE), ("postInstall", POST)))
    call = plugins("install", "scripted-plugin", "--version", "2.0.0",
                   *consents(("preInstall", PRE), ("postInstall", "exit 3")))
    assert call.code == 1 and call.error_code == "ERROR-INST-006"
    assert call.response["error"]["context"]["exitCode"] == 3
    assert call.response["error"]["context"]["step"] == "ACTIVATE"
    assert active_target(plugin_dir, "scripted-plugin") == "../cache/scripted-plugin/1.0.0"
    assert registry(plugin_dir)["scripted-plugin"]["version"] == "1.0.0"
    assert not (plugin_dir / "cache" / "scripted-plugin" / "2.0.0").exists()
    assert list((plugin_dir / "tmp").iterdir()) == []


@pytest.mark.usefixtures("hooks_on")
def test_script_past_its_timeout_is_killed(plugins: PluginsCli, scripted: Market,
                                           plugin_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_SCRIPT_TIMEOUT_S", "0.3")
    call = plugins("install", "slow-plugin", *consents(("install", "sleep 30")))
    assert call.error_code == "ERROR-INST-007"
    assert call.response["error"]["context"]["step"] == "LIFECYCLE_PRE"
    assert "slow-plugin" not in registry(plugin_dir)


@pytest.mark.usefixtures("hooks_on")
def test_skip_lifecycle_installs_without_consent(plugins: PluginsCli, scripted: Market) -> None:
    call = plugins("install", "scripted-plugin", "--version", "1.0.0", "--skip-lifecycle")
    assert call.code == 0 and call.data["lifecycleScripts"] == []
    assert "skipped as requested" in call.response["message"]


def test_malformed_consent_option_is_a_usage_error(plugins: PluginsCli) -> None:
    call = plugins("install", "scripted-plugin", "--consent", "postInstall")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002"
    bad_digest = plugins("install", "scripted-plugin", "--consent", "postInstall=md5:abc")
    assert bad_digest.code == 2 and bad_digest.error_code == "ERROR-SCHEMA-001"


@pytest.mark.usefixtures("hooks_on")
def test_update_takes_consent_too(plugins: PluginsCli, scripted: Market,
                                  plugin_dir: Path) -> None:
    scripted.add("scripted-plugin", "1.1.0", scripts={"preInstall": PRE})
    plugins("install", "scripted-plugin", "--version", "1.0.0", "--skip-lifecycle")
    refused = plugins("update", "scripted-plugin", "--version-constraint", "~1.1")
    assert refused.code == 1 and refused.error_code == "ERROR-PERM-001"
    assert refused.data["skipped"][0]["errorCode"] == "ERROR-PERM-001"
    call = plugins("update", "scripted-plugin", "--version-constraint", "~1.1",
                   *consents(("preInstall", PRE)))
    assert call.code == 0 and call.data["updated"][0]["toVersion"] == "1.1.0"
    assert call.response["telemetry"]["lifecycleScriptsRun"] == 1
    assert (plugin_dir / "plugins" / "scripted-plugin" / "scripted-plugin.log").read_text() \
        == "pre 1.1.0\n"
