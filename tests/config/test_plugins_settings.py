"""Settings of `plugins`: defaults, flags from the environment, limits, allowlists."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.env import ConfigError
from config.plugins import FLAG_DEFAULTS, MB, flag_env_name, load_plugins_settings


def test_defaults() -> None:
    settings = load_plugins_settings()
    assert settings.marketplace is None
    assert settings.plugin_dir == Path(".claude-plugin")
    assert settings.env_flags == {}
    assert settings.cache_keep_versions == 3 and settings.cache_max_bytes == 500 * MB
    assert settings.test_fault is None


def test_flag_names_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert flag_env_name("enableLifecycleHooks") == "YELLOW_PLUGINS_ENABLE_LIFECYCLE_HOOKS"
    assert flag_env_name("strictCompatibility") == "YELLOW_PLUGINS_STRICT_COMPATIBILITY"
    monkeypatch.setenv("YELLOW_PLUGINS_ENABLE_ROLLBACK", "true")
    monkeypatch.setenv("YELLOW_PLUGINS_ENABLE_COMPATIBILITY_CHECKS", "0")
    assert load_plugins_settings().env_flags == {"enableRollback": True,
                                                 "enableCompatibilityChecks": False}
    assert set(FLAG_DEFAULTS) >= {"enableBrowse", "enablePublish", "enableRollback",
                                  "enableVariants", "enableLifecycleHooks",
                                  "enableCompatibilityChecks"}
    monkeypatch.setenv("YELLOW_PLUGINS_ENABLE_ROLLBACK", "maybe")
    with pytest.raises(ConfigError):
        load_plugins_settings()


def test_locations_and_limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_MARKETPLACE", "https://plugins.example/")
    monkeypatch.setenv("YELLOW_PLUGINS_DIR", str(tmp_path / "p"))
    monkeypatch.setenv("YELLOW_PLUGINS_CACHE_MAX_MB", "5")
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "0")
    settings = load_plugins_settings()
    assert settings.marketplace == "https://plugins.example/"
    assert settings.plugin_dir == tmp_path / "p"
    assert settings.cache_max_bytes == 5 * MB and settings.net_retries == 0
    monkeypatch.setenv("YELLOW_PLUGINS_CACHE_KEEP_VERSIONS", "0")
    with pytest.raises(ConfigError):
        load_plugins_settings()


def test_environment_allowlists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    monkeypatch.setenv("MY_BUILD_ID", "42")
    monkeypatch.setenv("YELLOW_PLUGINS_TELEMETRY_ENV_ALLOW", "MY_BUILD_ID")
    settings = load_plugins_settings()
    assert settings.telemetry_env["CI"] == "true" and settings.telemetry_env["MY_BUILD_ID"] == "42"
    assert "GITHUB_TOKEN" not in settings.telemetry_env
    assert "GITHUB_TOKEN" not in settings.script_env and "PATH" in settings.script_env


@pytest.mark.parametrize(("value", "ok"), [("promote", True), ("activate:exit", True),
                                           ("commit:exit", True), ("commit", False),
                                           ("stage", False), ("promote:later", False)])
def test_fault_hook_values(monkeypatch: pytest.MonkeyPatch, value: str, ok: bool) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_TEST_FAULT", value)
    if ok:
        assert load_plugins_settings().test_fault == value
    else:
        with pytest.raises(ConfigError):
            load_plugins_settings()
